/**
 * What `ttpush doctor` reports: one line per check, ok / warn / fail, with the fix of anything not ok.
 * Pure: no I/O.
 */

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  status: CheckStatus;
  /** What was checked, e.g. "redis memory policy", "db_proxy 10.0.0.5:10600 heartbeat". */
  name: string;
  /** What was found. */
  detail: string;
  /** What to do about it; null when ok. */
  fix: string | null;
}

export const ok = (name: string, detail: string): Check => ({ status: 'ok', name, detail, fix: null });
export const warn = (name: string, detail: string, fix: string): Check => ({ status: 'warn', name, detail, fix });
export const fail = (name: string, detail: string, fix: string): Check => ({ status: 'fail', name, detail, fix });

/** 0 all good, 1 a warning, 2 a failure. */
export function exitCodeOf(checks: readonly Check[]): 0 | 1 | 2 {
  if (checks.some((c) => c.status === 'fail')) return 2;
  if (checks.some((c) => c.status === 'warn')) return 1;
  return 0;
}

const MARK: Record<CheckStatus, string> = { ok: '✓', warn: '!', fail: '✗' };

/** `✓ name: detail`, `! name: detail — fix: ...`, `✗ name: detail — fix: ...`. */
export function formatCheck(c: Check): string {
  const fix = c.fix === null ? '' : ` — fix: ${c.fix}`;
  return `${MARK[c.status]} ${c.name}: ${c.detail}${fix}`;
}

export function summaryLine(checks: readonly Check[]): string {
  const count = (s: CheckStatus, one: string, many: string) => {
    const n = checks.filter((c) => c.status === s).length;
    return `${n} ${n === 1 ? one : many}`;
  };
  const code = exitCodeOf(checks);
  const verdict = code === 0 ? 'all good' : code === 1 ? 'works, with warnings' : 'will not work as configured';
  return `${checks.length} checks: ${count('ok', 'ok', 'ok')}, ${count('warn', 'warning', 'warnings')}, ${count('fail', 'failure', 'failures')}: ${verdict}`;
}
