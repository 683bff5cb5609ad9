/** The UTC day an app's daily quota counts on (P:tn:quota:<app>:<day>), and when it ends. */

/** YYYYMMDD of the UTC day of `ms`. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');
}

/** Whole seconds from `ms` to the next UTC midnight (≥ 1). */
export function secondsToUtcMidnight(ms: number): number {
  const d = new Date(ms);
  const next = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
  return Math.max(1, Math.ceil((next - ms) / 1000));
}
