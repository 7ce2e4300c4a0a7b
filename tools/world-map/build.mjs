// Builds dashboards/world_map.json, the geometry of the dashboard's country map,
// once, at build time: the server only reads the JSON (no Node at run time).
// Run here: `npm ci && node build.mjs`.
//
// Source: Natural Earth 1:110m admin 0 countries (public domain), as TopoJSON in
// the world-atlas package (ISC); country names in English and Dutch from
// i18n-iso-countries (MIT). Countries are keyed by ISO 3166-1 alpha-2, the code
// Teller stores (sessions.country_code, from DB-IP or the `country` parameter).
// The projection is Natural Earth I with Antarctica left out; coordinates are
// whole units of a 1000-wide view box and paths use relative moves, which keeps
// the file small enough to inline in every dashboard page.
//
// The JSON records the start of this script's sha256, so
// tests/test_world_map.py sees an edit without a rebuild.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { geoNaturalEarth1, geoPath } from 'd3-geo';
import { feature } from 'topojson-client';
import countries from 'i18n-iso-countries';

const require = createRequire(import.meta.url);
const WIDTH = 1000;
// Natural Earth gives these no ISO number; DB-IP and Matomo use XK for Kosovo,
// and place Somaliland and northern Cyprus in SO and CY.
const UNNUMBERED = { Kosovo: 'XK', Somaliland: 'SO', 'N. Cyprus': 'CY' };
const LEFT_OUT = new Set(['010']); // Antarctica: no visitors, a third of the height
// The names people use where the package's English one is the formal one. Dutch takes the package's short
// names ("Nederland", "Rusland"), which read well throughout.
const SHORT_ENGLISH = {
  BN: 'Brunei', CN: 'China', CZ: 'Czechia', FK: 'Falkland Islands', FM: 'Micronesia', GM: 'The Gambia',
  IR: 'Iran', LA: 'Laos', MD: 'Moldova', MK: 'North Macedonia', RU: 'Russia', SY: 'Syria', TW: 'Taiwan',
  TZ: 'Tanzania', US: 'United States', VA: 'Vatican City',
};

const here = new URL('.', import.meta.url);
const atlasPackage = require('world-atlas/package.json');
const namesPackage = require('i18n-iso-countries/package.json');
const topology = require('world-atlas/countries-110m.json');
countries.registerLocale(require('i18n-iso-countries/langs/en.json'));
countries.registerLocale(require('i18n-iso-countries/langs/nl.json'));

const world = feature(topology, topology.objects.countries);
const shown = world.features.filter((country) => !LEFT_OUT.has(country.id));
const projection = geoNaturalEarth1().fitWidth(WIDTH, { type: 'FeatureCollection', features: shown });

function codeOf(country) {
  const code = country.id ? countries.numericToAlpha2(country.id) : UNNUMBERED[country.properties.name];
  if (!code) throw new Error(`no ISO alpha-2 code for ${country.id} ${country.properties.name}`);
  return code;
}

// A d3 path context that keeps the projected rings as lists of whole-unit points.
function ringsOf(country) {
  const rings = [];
  geoPath(projection, {
    moveTo(x, y) { rings.push([[Math.round(x), Math.round(y)]]); },
    lineTo(x, y) {
      const ring = rings[rings.length - 1];
      const [lastX, lastY] = ring[ring.length - 1];
      const point = [Math.round(x), Math.round(y)];
      if (point[0] !== lastX || point[1] !== lastY) ring.push(point);
    },
    closePath() {},
    arc() {},
  })(country);
  return rings.filter((ring) => ring.length >= 3); // islands rounded to a point or a line vanish
}

// "M x y" then relative "l dx dy …" per ring: the shortest path text without a custom decoder.
function pathOf(rings) {
  return rings.map((ring) => {
    const [[startX, startY], ...rest] = ring;
    let text = `M${startX} ${startY}l`;
    let [x, y] = [startX, startY];
    text += rest.map(([nextX, nextY]) => {
      const step = `${nextX - x} ${nextY - y}`;
      [x, y] = [nextX, nextY];
      return step;
    }).join(' ');
    return `${text}z`;
  }).join('').replace(/ -/g, '-');
}

const paths = {};
for (const country of shown) {
  const code = codeOf(country);
  const rings = ringsOf(country);
  if (rings.length) paths[code] = (paths[code] ?? '') + pathOf(rings);
}
const [, [, bottom]] = geoPath(projection).bounds({ type: 'FeatureCollection', features: shown });
const names = { en: {}, nl: {} };
for (const code of Object.keys(countries.getAlpha2Codes()).sort()) {
  names.en[code] = SHORT_ENGLISH[code] ?? countries.getName(code, 'en');
  names.nl[code] = countries.getName(code, 'nl', { select: 'alias' });
}

const script = readFileSync(new URL('build.mjs', here));
const output = {
  about: 'Natural Earth 1:110m countries (public domain) via world-atlas ' + atlasPackage.version
    + ' (ISC); names from i18n-iso-countries ' + namesPackage.version + ' (MIT). Built by tools/world-map/build.mjs.',
  build: createHash('sha256').update(script).digest('hex').slice(0, 16),
  width: WIDTH,
  height: Math.ceil(bottom),
  paths: Object.fromEntries(Object.entries(paths).sort()),
  names,
};
const text = JSON.stringify(output) + '\n';
writeFileSync(new URL('../../dashboards/world_map.json', here), text);
console.log(`world_map.json: ${text.length} bytes, ${Object.keys(paths).length} countries, `
  + `${output.width}x${output.height}`);
