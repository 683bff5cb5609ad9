/**
 * The newest failed messages, for the console's "recent failures": workers push one entry per message
 * that ended failed, with the stats flush they already pipeline; the API reads the list whole.
 *
 *   {P:stats}:failures  list  newest first, at most RECENT_FAILURES entries: JSON {id, code, message, at}
 *
 * The key shares the stats key's Redis Cluster slot (hash tag), so one pipeline writes both.
 * Counts by code (batch recipients included) are the `failed:<code>` counters of P:stats.
 */

/** Entries the list keeps. */
export const RECENT_FAILURES = 200;

export interface FailureExample {
  /** The message id. */
  id: string;
  code: string;
  message: string;
  /** Unix ms. */
  at: number;
}

/** The list's key, in the same Cluster slot as `statsKey` (its own hash tag when it has one, else the whole key). */
export function recentFailuresKey(statsKey: string): string {
  return /\{[^}]+\}/.test(statsKey) ? `${statsKey}:failures` : `{${statsKey}}:failures`;
}
