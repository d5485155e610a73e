// Reads o200k_base.tiktoken ("base64 rank" lines) out of the NuGet package Microsoft.ML.Tokenizers.Data.O200kBase,
// where it is the deflate-compressed managed resource "o200k_base.tiktoken.deflate" of the assembly.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { homedir } from 'node:os';
import { inflateRawSync } from 'node:zlib';

export function findO200kAssembly() {
  const root = process.env.NUGET_PACKAGES || join(homedir(), '.nuget', 'packages');
  const pkg = join(root, 'microsoft.ml.tokenizers.data.o200kbase');
  if (!existsSync(pkg)) throw new Error(`${pkg} not found: run 'dotnet restore' first`);
  const version = readdirSync(pkg).sort().at(-1);
  return join(pkg, version, 'lib', 'netstandard2.0', 'Microsoft.ML.Tokenizers.Data.O200kBase.dll');
}

/** Returns the text of o200k_base.tiktoken. */
export function readO200k(dllPath = findO200kAssembly()) {
  const pe = readFileSync(dllPath);
  const peOffset = pe.readUInt32LE(0x3c);
  if (pe.readUInt32LE(peOffset) !== 0x4550) throw new Error('not a PE file');
  const coff = peOffset + 4;
  const sections = pe.readUInt16LE(coff + 2);
  const optSize = pe.readUInt16LE(coff + 16);
  const opt = coff + 20;
  const magic = pe.readUInt16LE(opt);
  const dataDirs = opt + (magic === 0x20b ? 112 : 96);
  const cliRva = pe.readUInt32LE(dataDirs + 14 * 8);
  const sectionTable = opt + optSize;
  const rvaToOffset = (rva) => {
    for (let i = 0; i < sections; i++) {
      const s = sectionTable + i * 40;
      const va = pe.readUInt32LE(s + 12), rawSize = pe.readUInt32LE(s + 16), raw = pe.readUInt32LE(s + 20);
      if (rva >= va && rva < va + rawSize) return rva - va + raw;
    }
    throw new Error(`RVA 0x${rva.toString(16)} not in any section`);
  };
  const cli = rvaToOffset(cliRva);
  const resourcesRva = pe.readUInt32LE(cli + 24);
  const resources = rvaToOffset(resourcesRva);
  // The assembly has exactly one managed resource, at offset 0: a 4-byte length, then the deflate stream.
  const length = pe.readUInt32LE(resources);
  const text = inflateRawSync(pe.subarray(resources + 4, resources + 4 + length)).toString('latin1');
  // Microsoft's format: a "Capacity: N" line, then one base64 token per line whose rank is its line index.
  const lines = text.split(/\r?\n/);
  if (!lines[0].startsWith('Capacity:') || lines[1] !== 'IQ==') throw new Error('unexpected o200k_base.tiktoken content');
  const tokens = lines.slice(1).filter((l) => l.length > 0);
  return tokens.map((b64, rank) => `${b64} ${rank}`).join('\n') + '\n';
}
