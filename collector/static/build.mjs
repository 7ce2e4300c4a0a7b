// Builds teller.min.js, the script Teller serves at /teller.js, from teller.js.
// Run in collector/static: `npm ci && node build.mjs`. Prints the gzipped size
// and warns when it reaches the 3 KB budget (`--strict`: then exit 1).
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { minify } from 'terser';

const dir = new URL('.', import.meta.url);
const source = readFileSync(new URL('teller.js', dir), 'utf8');
const result = await minify(source, {
  ecma: 5,
  compress: { passes: 2 },
  mangle: true, // local names only: the _paq method names are API, so no property mangling
  format: {
    comments: false,
    preamble: '/*! Teller tracker, minified from collector/static/teller.js by `node build.mjs` (terser). Do not edit. */',
  },
});
const code = result.code + '\n';
writeFileSync(new URL('teller.min.js', dir), code);
const size = gzipSync(Buffer.from(code), { level: 9 }).length;
console.log(`teller.min.js: ${code.length} bytes, ${size} bytes gzipped`);
if (size >= 3072) {
  console.warn(`over the 3 KB gzipped budget by ${size - 3071} bytes`);
  if (process.argv.includes('--strict')) process.exit(1);
}
