/** When a failed webhook delivery is tried again: the configured wait for this try, ±20% jitter. */
export function nextAttemptAt(
  scheduleMs: readonly number[],
  triesDone: number,
  now = Date.now(),
  random = Math.random,
): number | null {
  const wait = scheduleMs[triesDone - 1];
  if (wait === undefined) return null;
  return now + Math.round(wait * (0.8 + 0.4 * random()));
}
