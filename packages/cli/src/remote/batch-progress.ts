/** The one-line progress of a batch (stderr, rewritten in place) and the summary printed at its end. */
import type { BatchView } from '@ttpush/client';

function duration(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m${String(Math.ceil(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function progressLine(view: BatchView): string {
  const { sent, failed } = view.counts;
  const total = view.total - view.rejected;
  const pct = total > 0 ? Math.floor(((sent + failed + view.counts.cancelled) * 100) / total) : 100;
  const eta = view.eta_seconds === null ? '' : ` · ETA ${duration(view.eta_seconds)}`;
  return `batch ${view.id} ${view.status}: ${sent} sent, ${failed} failed of ${total} (${pct}%) · ${Math.round(view.rate)}/s${eta}`;
}

export function summaryLine(view: BatchView, elapsedMs: number): string {
  const c = view.counts;
  const parts = [`${c.sent} sent`, `${c.failed} failed`];
  if (c.cancelled > 0) parts.push(`${c.cancelled} cancelled`);
  if (view.rejected > 0) parts.push(`${view.rejected} rejected`);
  if (view.duplicates > 0) parts.push(`${view.duplicates} duplicates dropped`);
  return `batch ${view.id} ${view.status}: ${parts.join(', ')} of ${view.total} in ${duration(elapsedMs / 1000)}`;
}

/** True when every recipient of a finished batch was sent. */
export function allSent(view: BatchView): boolean {
  return view.status === 'completed' && view.counts.sent === view.total - view.rejected && view.rejected === 0;
}
