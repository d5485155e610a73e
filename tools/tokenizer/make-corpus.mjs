// Writes tests/KimiSharp.Tests/Text/Golden/corpus/generated.txt: a deterministic (seeded) stress mix built from the
// hand-written corpus files plus random identifiers, contractions, numbers, whitespace and code points from many
// scripts and categories (letters, marks, digits, symbols, emoji, astral CJK). Usage: node tools/tokenizer/make-corpus.mjs
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const corpusDir = join(here, '..', '..', 'tests', 'KimiSharp.Tests', 'Text', 'Golden', 'corpus');
const TARGET_BYTES = 44 * 1024;

// mulberry32: small deterministic PRNG.
let state = 0x4b494d49; // "KIMI"
function rand() {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n) => Math.floor(rand() * n);
const pick = (a) => a[int(a.length)];

const sources = readdirSync(corpusDir).filter((f) => f.endsWith('.txt') && f !== 'generated.txt').sort();
const words = sources.flatMap((f) => readFileSync(join(corpusDir, f), 'utf8').split(/\s+/)).filter((w) => w.length > 0);

const blocks = [
  [0x0041, 0x005a], [0x0061, 0x007a], [0x00c0, 0x024f], [0x0250, 0x02af], [0x02b0, 0x02ff], [0x0300, 0x036f],
  [0x0370, 0x03ff], [0x0400, 0x04ff], [0x0530, 0x058f], [0x0590, 0x05ff], [0x0600, 0x06ff], [0x0900, 0x097f],
  [0x0980, 0x09ff], [0x0e00, 0x0e7f], [0x10a0, 0x10ff], [0x1100, 0x11ff], [0x1e00, 0x1eff], [0x1f00, 0x1fff],
  [0x2000, 0x206f], [0x20a0, 0x20cf], [0x2100, 0x214f], [0x2150, 0x218f], [0x2190, 0x21ff], [0x2200, 0x22ff],
  [0x2460, 0x24ff], [0x2e80, 0x2eff], [0x2f00, 0x2fdf], [0x3000, 0x303f], [0x3040, 0x309f], [0x30a0, 0x30ff],
  [0x3400, 0x4dbf], [0x4e00, 0x9fff], [0xac00, 0xd7a3], [0xf900, 0xfaff], [0xfe00, 0xfe0f], [0xff00, 0xffef],
  [0x1d400, 0x1d7ff], [0x1f300, 0x1f64f], [0x1f900, 0x1f9ff], [0x20000, 0x2a6df], [0x2f800, 0x2fa1f],
];
const unassignedOrBad = /[\p{Cn}\p{Cs}\p{Co}]/u;
function randomCodePoint() {
  for (;;) {
    const [a, b] = pick(blocks);
    const s = String.fromCodePoint(a + int(b - a + 1));
    if (!unassignedOrBad.test(s)) return s;
  }
}

const syllables = ['get', 'set', 'user', 'name', 'http', 'json', 'xml', 'id', 'url', 'io', 'data', 'to', 'from', 'parse',
  'read', 'value', 'count', 'max', 'min', 'i', 'a', 'e', 'phone', 'mac', 'book', 'pro', 'html', 'api', 'db', 'x'];
function casing(s) {
  switch (int(4)) {
    case 0: return s;
    case 1: return s.toUpperCase();
    case 2: return s[0].toUpperCase() + s.slice(1);
    default: return [...s].map((c) => (rand() < 0.5 ? c.toUpperCase() : c)).join('');
  }
}
const identifier = () => Array.from({ length: 1 + int(4) }, () => casing(pick(syllables))).join(pick(['', '', '', '_', '-', '.']));
const contraction = () => casing(pick(syllables)) + "'" + casing(pick(['s', 't', 're', 've', 'm', 'll', 'd', 'x', 'S', 'ſ']));
const digits = ['0123456789', '٠١٢٣٤٥٦٧٨٩', '०१२३४५६७८९', '０１２３４５６７８９', '①②③④⑤⑥⑦⑧⑨', 'ⅠⅡⅢⅣⅤ', '½¼¾'];
const number = () => { const d = rand() < 0.7 ? digits[0] : pick(digits); return Array.from({ length: 1 + int(12) }, () => [...d][int([...d].length)]).join(''); };
const whitespace = () => pick([' ', ' ', ' ', '  ', '   ', '\t', '\n', '\r\n', '\n\n', ' \n', '\n ', '  \n  ', '\r', '\u00a0', '\u3000', '\t\t', ' \t ']);
const randomRun = () => Array.from({ length: 1 + int(6) }, randomCodePoint).join('');
const punctuation = () => pick(['.', ',', '!', '?', '...', '--', '"', "'", '(', ')', '[', ']', '{', '}', ':', ';', '/', '\\', '@', '#', '$', '%', '^', '&', '*', '+', '=', '<', '>', '|', '~', '`', '。', '，', '！', '「', '」', '—', '…']);

const generators = [
  () => pick(words), () => pick(words), () => pick(words), identifier, contraction, number, randomRun, punctuation,
  () => pick(words) + punctuation(), () => punctuation() + pick(words), () => pick(words) + randomCodePoint(),
];

let out = '';
while (Buffer.byteLength(out, 'utf8') < TARGET_BYTES) {
  out += pick(generators)() + whitespace();
}
writeFileSync(join(corpusDir, 'generated.txt'), out);
console.log(`wrote ${Buffer.byteLength(out, 'utf8')} bytes to generated.txt`);
