/**
 * Timers driven by hand, for pdu connections and sandbox servers alike: nothing fires until
 * `advance(ms)` moves the clock, then every timer that falls due on the way fires in due order (ties
 * in the order they were set), with `now()` at its due time. Sockets stay real; only time is simulated.
 */
import type { TimerHandle, Timers } from '@ttpush/pdu';

interface Entry {
  at: number;
  seq: number;
  fn: () => void;
  every: number | undefined;
}

/** 2026-01-01T00:00:00Z: an epoch time, so a server stamping create_time from `now()` stamps a real second. */
const DEFAULT_START_MS = Date.UTC(2026, 0, 1);

export class FakeTimers implements Timers {
  private clock: number;
  private seq = 0;
  private readonly entries = new Map<number, Entry>();

  constructor(startMs = DEFAULT_START_MS) {
    this.clock = startMs;
  }

  now(): number {
    return this.clock;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, undefined);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, Math.max(1, ms));
  }

  clearTimeout(handle: TimerHandle): void {
    this.entries.delete(handle as number);
  }

  clearInterval(handle: TimerHandle): void {
    this.entries.delete(handle as number);
  }

  /** Timers waiting to fire. */
  get pendingCount(): number {
    return this.entries.size;
  }

  /** Moves the clock forward by `ms`, firing every timer that falls due on the way, in order. */
  advance(ms: number): void {
    const target = this.clock + ms;
    for (;;) {
      let next: [number, Entry] | undefined;
      for (const item of this.entries) {
        const e = item[1];
        if (e.at <= target && (!next || e.at < next[1].at || (e.at === next[1].at && e.seq < next[1].seq))) next = item;
      }
      if (!next) break;
      const [handle, entry] = next;
      this.clock = Math.max(this.clock, entry.at);
      if (entry.every === undefined) this.entries.delete(handle);
      else {
        entry.at += entry.every;
        entry.seq = ++this.seq;
      }
      entry.fn();
    }
    this.clock = target;
  }

  private add(fn: () => void, ms: number, every: number | undefined): number {
    const handle = ++this.seq;
    this.entries.set(handle, { at: this.clock + Math.max(0, ms), seq: handle, fn, every });
    return handle;
  }
}
