// Builds the tracker Teller serves: teller.min.js (the core, at /teller.js,
// /matomo.js and /piwik.js) from teller.js, and teller-extra.min.js (at
// /teller-extra.js, loaded by the core when a page needs it) from
// teller-extra.js. Run in collector/static: `npm ci && node build.mjs`.
// Each preamble carries the start of its source's sha256, so
// tests/test_tracker_build.py sees a stale build. Prints both sizes; exits 1
// when the core's gzipped size is over budget.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { minify } from 'terser';

const BUDGET = 3072; // bytes of teller.min.js after gzip -9
const dir = new URL('.', import.meta.url);

async function build(name) {
  const source = readFileSync(new URL(`${name}.js`, dir));
  const sha = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const result = await minify(source.toString('utf8'), {
    ecma: 5,
    compress: { passes: 3 },
    // Local names only: the _paq method names are API, and the core and the
    // extras share state by property name, so no property mangling.
    mangle: true,
    format: {
      ascii_only: true, // the page's charset may not be UTF-8
      comments: false,
      preamble: `/*! ${name}.js sha256:${sha} */`, // short: every byte counts
    },
  });
  const code = result.code + '\n';
  writeFileSync(new URL(`${name}.min.js`, dir), code);
  const size = gzipSync(Buffer.from(code), { level: 9 }).length;
  console.log(`${name}.min.js: ${code.length} bytes, ${size} bytes gzipped`);
  return size;
}

const core = await build('teller');
await build('teller-extra');
console.log(`core budget: under ${BUDGET} bytes gzipped`);
if (core >= BUDGET) {
  console.error(`teller.min.js is over the gzipped budget by ${core - BUDGET + 1} bytes`);
  process.exit(1);
}
