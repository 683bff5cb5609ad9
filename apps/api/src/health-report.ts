/** What a health report says about db_proxy_servers, for /readyz and the console. */
import type { HealthReport } from '@ttpush/contract';

/** The db_proxy_servers some live worker reports degraded, one entry per address (the first reason seen). */
export function degradedDbProxies(report: HealthReport): { address: string; reason: string; workers: number }[] {
  const out = new Map<string, { address: string; reason: string; workers: number }>();
  for (const w of report.workers) {
    for (const d of w.dbProxy ?? []) {
      if (d.status !== 'degraded') continue;
      const e = out.get(d.address);
      if (e) e.workers++;
      else out.set(d.address, { address: d.address, reason: d.reason ?? 'requests left unanswered', workers: 1 });
    }
  }
  return [...out.values()];
}
