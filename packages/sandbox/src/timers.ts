/**
 * The clock the sandbox runs on: heartbeats, idle timeouts, reply delays, reconnects and the
 * msg_server's `create_time` all read it, so a test can inject a manual clock and step through
 * 30 seconds of silence instantly.
 */

/** An opaque handle returned by `setTimeout` / `setInterval`. */
export type TimerHandle = unknown;

export interface SandboxTimers {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle): void;
}

export const realTimers: SandboxTimers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};
