/**
 * The clock and timers a connection or a server of the sandbox uses, injectable so tests can drive
 * time by hand (heartbeats, dead-peer detection, request timeouts, reconnect delays, reply delays).
 */
import { performance } from 'node:perf_hooks';

/** An opaque handle returned by {@link Timers.setTimeout} / {@link Timers.setInterval}. */
export type TimerHandle = unknown;

export interface Timers {
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle): void;
  /** Milliseconds. Connections and pools only use differences; a peer that stamps times reads it as epoch time. */
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

/** Node's timers with `Date.now()`: for a peer that stamps wall-clock times (a message's create_time). */
export const wallClockTimers: Timers = { ...systemTimers, now: () => Date.now() };
