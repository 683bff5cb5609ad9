/**
 * Defaults of a TeamTalk connection's options, and the default reconnect timing.
 */

/** Returns the delay before reconnect attempt `attempt` (1, 2, …), or null to give up for good. */
export type RetryStrategy = (attempt: number) => number | null;

/** See TeamTalkConnectionOptions for what each means. */
export const CONNECTION_DEFAULTS = {
  connectTimeoutMs: 5000,
  heartbeatIntervalMs: 5000,
  deadAfterMs: 30_000,
  requestTimeoutMs: 5000,
  maxInFlight: 4096,
  writeHighWaterMark: 1024 * 1024,
} as const;

const RETRY_BASE_MS = 100;
const RETRY_CAP_MS = 5000;
const RETRY_JITTER = 0.2;

/** min(100 · 2^(attempt−1), 5000) ms, ±20% jitter so many workers do not reconnect in step. */
export const defaultRetryStrategy: RetryStrategy = (attempt) => {
  const base = Math.min(RETRY_BASE_MS * 2 ** Math.max(0, attempt - 1), RETRY_CAP_MS);
  return Math.round(base * (1 - RETRY_JITTER + Math.random() * 2 * RETRY_JITTER));
};
