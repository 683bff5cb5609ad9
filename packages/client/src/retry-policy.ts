/**
 * When a failed attempt is worth another, and how long to wait first. Only failures that cannot have
 * done harm twice are retried: no answer at all (network error, timeout), 503 (Redis unreachable:
 * nothing was stored) and 429 (refused before the body was read). Every retry of a POST carries the
 * same Idempotency-Key, so an attempt that did reach ttpush is answered with the same message or batch.
 */
import { TtpushError } from './ttpush-error.ts';

/** Longest wait between attempts, whatever Retry-After says. */
export const MAX_RETRY_DELAY_MS = 30_000;
const BASE_DELAY_MS = 200;
const MAX_BACKOFF_MS = 5_000;

export function isRetryable(err: TtpushError): boolean {
  return err.code === 'unreachable' || err.code === 'timeout' || err.status === 503 || err.status === 429;
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The wait before attempt `attempt + 1` (attempt counts from 0): Retry-After when given, else capped backoff with jitter. */
export function retryDelay(attempt: number, retryAfterMs: number | undefined): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, MAX_RETRY_DELAY_MS);
  const backoff = Math.min(BASE_DELAY_MS * 2 ** attempt, MAX_BACKOFF_MS);
  return Math.round(backoff / 2 + (Math.random() * backoff) / 2);
}
