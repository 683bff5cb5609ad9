/**
 * Key secrets: `ttpk_<key id>_<secret>`, e.g. `ttpk_key_0f3a9c2e71b4d608_<43 base64url characters>`.
 * The key id in the secret finds its record in one Redis read; only SHA-256(secret part) is stored,
 * and the presented secret's digest is compared with timingSafeEqual.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const KEY_ID = /^key_[0-9a-f]{16}$/;
const PRESENTED = /^ttpk_(key_[0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export function newKeyId(): string {
  return `key_${randomBytes(8).toString('hex')}`;
}

export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** A new key: its id, the full secret to hand out once, and the hash to store. */
export function newKeySecret(id: string = newKeyId()): { id: string; secret: string; hash: Buffer } {
  const part = randomBytes(32).toString('base64url');
  return { id, secret: `ttpk_${id}_${part}`, hash: hashSecret(part) };
}

/** The key id and secret part of a presented `ttpk_` key, or null when it has not that shape. */
export function parsePresented(presented: string): { id: string; part: string } | null {
  const m = PRESENTED.exec(presented);
  return m ? { id: m[1]!, part: m[2]! } : null;
}

/**
 * Whether `part` hashes to `hash` (constant time for equal lengths; a stored hash is always 32 bytes). `digestOf` is
 * hashSecret, or a cache of its results (the api's keyDigest).
 */
export function secretMatches(part: string, hash: Buffer, digestOf: (s: string) => Buffer = hashSecret): boolean {
  const d = digestOf(part);
  return hash.length === d.length && timingSafeEqual(d, hash);
}
