/**
 * The one-line progress of a batch and the summary printed at its end. On a terminal the line is rewritten
 * in place (\r and an ANSI erase); anywhere else (a pipe, a CI log) it is a plain line every few seconds and
 * whenever the status changes, so logs stay readable.
 */
import type { BatchView } from '@ttpush/client';

/** How often a plain (non-terminal) progress line is written while nothing else changes. */
export const PLAIN_EVERY_MS = 5000;

/** 45s, 2m05s, 1h03m: whole seconds rounded up (119.7 s is 2m00s, never 1m60s). */
export function duration(seconds: number): string {
  const total = Math.ceil(seconds);
  if (total < 60) return `${total}s`;
  const m = Math.floor(total / 60);
  if (m < 60) return `${m}m${String(total % 60).padStart(2, '0')}s`;
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

export function finished(view: BatchView): boolean {
  return view.status === 'completed' || view.status === 'cancelled';
}

/** Where progress goes: stderr, or anything with its shape. */
export interface ProgressOut {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

export class ProgressPrinter {
  private inPlace = false;
  private lastLine = '';
  private lastStatus = '';
  private lastAt = -Infinity;

  constructor(
    private readonly out: ProgressOut,
    private readonly plainEveryMs = PLAIN_EVERY_MS,
    private readonly now: () => number = Date.now,
  ) {}

  show(view: BatchView): void {
    const line = progressLine(view);
    if (this.out.isTTY === true) {
      this.out.write(`\r${line}\x1b[K`);
      this.inPlace = true;
      return;
    }
    const t = this.now();
    const changed = view.status !== this.lastStatus || (finished(view) && line !== this.lastLine);
    if (line === this.lastLine || (!changed && t - this.lastAt < this.plainEveryMs)) return;
    this.out.write(`${line}\n`);
    this.lastLine = line;
    this.lastStatus = view.status;
    this.lastAt = t;
  }

  /** Ends a line rewritten in place, before anything else is written. */
  end(): void {
    if (!this.inPlace) return;
    this.out.write('\n');
    this.inPlace = false;
  }
}
