// Golden token ids for the tokenizer tests, from the reference implementation: the npm package `tiktoken` (the WASM
// build of OpenAI's Rust tiktoken core) with Kimi-K2's split pattern (tokenization_kimi.py) over the o200k_base ranks
// taken from the NuGet package Microsoft.ML.Tokenizers.Data.O200kBase (run `dotnet restore` first).
//
// Usage: node tools/tokenizer/make-goldens.mjs
// Installs tiktoken into a temporary folder (nothing is added to the repository), then writes
// tests/KimiSharp.Tests/Text/Golden/<corpus file>.ids for every corpus/*.txt: the ids of the whole file, 32 per line.
import { mkdtempSync, readFileSync, writeFileSync, readdirSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { readO200k } from './o200k.mjs';

const TIKTOKEN_VERSION = '1.0.22';

// Moonshot's pat_str for Kimi-K2 (tokenization_kimi.py), alternatives joined with '|'.
export const KIMI_PATTERN = [
  String.raw`[\p{Han}]+`,
  String.raw`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?`,
  String.raw`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?`,
  String.raw`\p{N}{1,3}`,
  String.raw` ?[^\s\p{L}\p{N}]+[\r\n]*`,
  String.raw`\s*[\r\n]+`,
  String.raw`\s+(?!\S)`,
  String.raw`\s+`,
].join('|');

const here = dirname(fileURLToPath(import.meta.url));
const goldenDir = join(here, '..', '..', 'tests', 'KimiSharp.Tests', 'Text', 'Golden');
const corpusDir = join(goldenDir, 'corpus');

const work = mkdtempSync(join(tmpdir(), 'kimisharp-tiktoken-'));
try {
  writeFileSync(join(work, 'package.json'), '{"private": true}');
  execFileSync('npm', ['install', '--silent', '--no-audit', '--no-fund', `tiktoken@${TIKTOKEN_VERSION}`], { cwd: work, stdio: 'inherit' });
  const require = createRequire(join(work, 'package.json'));
  const { Tiktoken } = require('tiktoken/lite');

  const encoder = new Tiktoken(readO200k(), {}, KIMI_PATTERN);
  for (const file of readdirSync(corpusDir).filter((f) => f.endsWith('.txt')).sort()) {
    const text = readFileSync(join(corpusDir, file), 'utf8');
    const ids = Array.from(encoder.encode_ordinary(text));
    const lines = [];
    for (let i = 0; i < ids.length; i += 32) lines.push(ids.slice(i, i + 32).join(' '));
    writeFileSync(join(goldenDir, file.replace(/\.txt$/, '.ids')), lines.join('\n') + '\n');
    console.log(`${file}: ${Buffer.byteLength(text, 'utf8')} bytes -> ${ids.length} ids`);
  }
  encoder.free();
} finally {
  rmSync(work, { recursive: true, force: true });
}
