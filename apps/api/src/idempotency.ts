/**
 * Fingerprints of requests kept with their Idempotency-Key (as the IETF Idempotency-Key draft does): a repeat
 * with the same fingerprint answers the first result, one with another fingerprint is refused
 * (IdempotencyKeyReusedError, HTTP 422 idempotency_key_reused).
 */
import { createHash } from 'node:crypto';
import type { SubmitRequest } from '@ttpush/contract';

/** The same Idempotency-Key came with another request than the one it first named. */
export class IdempotencyKeyReusedError extends Error {
  override readonly name = 'IdempotencyKeyReusedError';
  readonly code = 'idempotency_key_reused';
  constructor(
    message: string,
    /** The id of the message or batch the key names. */
    readonly firstId: string,
  ) {
    super(message);
  }
}

/** JSON with object keys sorted, so that key order does not change a fingerprint. Values are depth-checked upstream. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** base64url SHA-256 of text. */
export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64url');
}

/** Fields of a SubmitRequest that describe who asks and how (listByKey: the key's read_all), not what is sent: left out of the fingerprint. */
const NOT_THE_REQUEST: ReadonlySet<string> = new Set(['app', 'key', 'idempotencyKey', 'notify', 'listByKey']);

/**
 * The fingerprint of a message request: what is sent (sender, recipient, text, priority, times, metadata,
 * callback_url, and any field added later), as validated, so whitespace and key order do not matter; waiting
 * (?wait) does not change it.
 */
export function submitFingerprint(req: SubmitRequest): string {
  const what = Object.fromEntries(Object.entries(req).filter(([k]) => !NOT_THE_REQUEST.has(k)));
  return sha256(canonicalJson(what));
}
