/**
 * Reads the test vectors made by running the real TeamTalk C++ code.
 * packages/testkit/vectors holds them byte for byte as they were made (never hand-edit them);
 * .ci/run compares them with their source when that folder is beside the clone.
 */
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../../..');
export const vectorsDir = process.env.TTPUSH_VECTORS_DIR ?? join(repoRoot, 'packages/testkit/vectors');

function readTsv(name: string): Record<string, string>[] {
  const lines = readFileSync(join(vectorsDir, name), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0 && !l.startsWith('#'));
  const [head, ...rows] = lines;
  const cols = head!.split('\t');
  return rows.map((row) => {
    const cells = row.split('\t');
    return Object.fromEntries(cols.map((c, i) => [c, cells[i] ?? '']));
  });
}

export interface AesVector {
  key: string;
  plaintext: Buffer;
  ciphertext: string;
}

export function aesVectors(): AesVector[] {
  return readTsv('teamtalk-aes.tsv').map((r) => ({
    key: r.key!,
    plaintext: Buffer.from(r.plaintext_hex!, 'hex'),
    ciphertext: r.ciphertext_base64!,
  }));
}

export interface PduVector {
  name: string;
  direction: string;
  bytes: Buffer;
  note: string;
}

export function pduVectors(): PduVector[] {
  return readTsv('teamtalk-pdus.tsv').map((r) => ({
    name: r.name!,
    direction: r.direction!,
    bytes: Buffer.from(r.hex!, 'hex'),
    note: r.note!,
  }));
}

export function pduVector(name: string): PduVector {
  const v = pduVectors().find((p) => p.name === name);
  if (!v) throw new Error(`no PDU vector named ${name}`);
  return v;
}
