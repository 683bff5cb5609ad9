/**
 * Queue depth and send rate over the last minutes, for the console's chart: every SAMPLE_MS the api reads
 * the workers' counters (P:stats: sent, failed:<code>), the depth and the batches' backlog, and keeps the rates from the
 * deltas in a ring buffer covering WINDOW_MS. Each api process samples on its own; all read the same
 * cluster-wide counters, so any of them draws the same chart.
 */

export const SAMPLE_MS = 2000;
export const WINDOW_MS = 10 * 60_000;

export interface RatePoint {
  /** Unix ms of the sample. */
  t: number;
  /** Messages accepted and not yet terminal. */
  depth: number;
  /** Recipients of unfinished batches not yet sent, failed or cancelled. */
  batch_pending: number;
  /** Messages stored by TeamTalk per second since the previous sample. */
  sent_per_s: number;
  /** Messages (and batch recipients) failed per second since the previous sample. */
  failed_per_s: number;
}

export interface CounterReading {
  depth: number;
  batchPending: number;
  sent: number;
  failed: number;
}

interface Raw extends CounterReading {
  t: number;
}

/** Sent and failed totals of the workers' counters hash. */
export function totals(stats: Record<string, number>): { sent: number; failed: number } {
  let failed = 0;
  for (const [k, v] of Object.entries(stats)) if (k.startsWith('failed:')) failed += v;
  return { sent: stats.sent ?? 0, failed };
}

export class RateSampler {
  private readonly points: RatePoint[] = [];
  private last: Raw | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly capacity: number;

  constructor(
    private readonly read: () => Promise<CounterReading>,
    private readonly sampleMs = SAMPLE_MS,
    windowMs = WINDOW_MS,
  ) {
    this.capacity = Math.ceil(windowMs / sampleMs);
  }

  /** Samples now and then every sampleMs until stop(). */
  start(): void {
    if (this.timer) return;
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.sampleMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Oldest first. */
  series(): readonly RatePoint[] {
    return this.points;
  }

  /** One reading; a failed read (Redis down) leaves a gap rather than a false zero. */
  async sample(now = Date.now()): Promise<void> {
    let r: CounterReading;
    try {
      r = await this.read();
    } catch {
      return;
    }
    this.add({ t: now, ...r });
  }

  /** Adds a reading taken at `raw.t` (exposed for tests). */
  add(raw: Raw): void {
    const prev = this.last;
    this.last = raw;
    if (!prev || raw.t <= prev.t) return;
    const secs = (raw.t - prev.t) / 1000;
    // Counters only grow; a drop means they were reset (FLUSHDB): count from the new value.
    const rate = (now: number, then: number) => Math.round((Math.max(0, now - then) / secs) * 10) / 10;
    this.points.push({
      t: raw.t,
      depth: raw.depth,
      batch_pending: raw.batchPending,
      sent_per_s: rate(raw.sent, prev.sent),
      failed_per_s: rate(raw.failed, prev.failed),
    });
    if (this.points.length > this.capacity) this.points.shift();
  }
}
