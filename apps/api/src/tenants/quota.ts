/**
 * The per-app daily quota (messages per UTC day), counted in Redis per app and day (P:tn:quota:<app>:<day>)
 * by every api process together. A message counts when it is accepted; a refusal counts nothing, and neither does
 * a request that failed after the count or answered an Idempotency-Key's earlier message (the count is given back).
 */
import type { AppIdentity } from '../auth.ts';
import { ApiError } from '../errors.ts';
import { secondsToUtcMidnight } from '@ttpush/store';

export interface QuotaCounter {
  /** Counts `n` messages of `app` today unless that passes `quota`; false: refused, nothing counted. */
  takeQuota(app: string, n: number, quota: number): Promise<boolean>;
  /** Gives back `n` messages counted today by takeQuota (best effort: a failure leaves them counted). */
  refundQuota(app: string, n: number): Promise<void>;
}

/** Gives back what chargeDailyQuota counted; a no-op when it counted nothing. */
export type QuotaRefund = () => Promise<void>;
const NOTHING: QuotaRefund = () => Promise.resolve();

/**
 * Counts `n` messages against the app's daily quota, or refuses with 429 quota_exceeded until UTC midnight. The
 * answer gives the count back: call it when the request fails afterwards or turns out to repeat an earlier one.
 */
export async function chargeDailyQuota(
  counter: QuotaCounter | undefined,
  app: AppIdentity,
  n: number,
): Promise<QuotaRefund> {
  if (counter === undefined || app.dailyQuota === undefined || n <= 0) return NOTHING;
  if (await counter.takeQuota(app.name, n, app.dailyQuota)) return () => counter.refundQuota(app.name, n);
  const retry = secondsToUtcMidnight(Date.now());
  throw new ApiError(
    'quota_exceeded',
    `the app '${app.name}' may send ${app.dailyQuota} messages per UTC day (its daily_quota) and this request would pass it: retry after the next UTC midnight (in ${retry} s), or ask an operator to raise daily_quota`,
    null,
    { 'Retry-After': String(retry) },
  );
}
