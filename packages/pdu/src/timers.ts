/**
 * The clock and timers a connection uses, injectable so tests can drive time by hand
 * (heartbeats, dead-peer detection, request timeouts, reconnect delays).
 */
import { performance } from 'node:perf_hooks';

/** An opaque handle returned by {@link Timers.setTimeout} / {@link Timers.setInterval}. */
export type TimerHandle = unknown;

export interface Timers {
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle): void;
  /** Milliseconds on a monotonic-enough clock; only differences are used. */
  now(): number;
}

/** Node's own timers and `performance.now()` (monotonic: immune to wall-clock jumps). */
export const systemTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
  now: () => performance.now(),
};
