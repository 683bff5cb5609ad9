/**
 * Fails a test that leaves sockets, servers, timers or immediates behind: counts Node's active
 * resources of those kinds before each test, runs the test's cleanups, then waits (bounded) for the
 * counts to come back down.
 *
 * node:test runs afterEach hooks before a test's own `t.after()` hooks, so cleanups are registered
 * here with {@link onCleanup} to run before the check.
 */
import { afterEach, beforeEach } from 'node:test';

const TRACKED = new Set(['TCPSocketWrap', 'TCPServerWrap', 'TCPConnectWrap', 'Timeout', 'Immediate']);

let cleanups: (() => unknown)[] = [];

/** Runs `fn` when the current test ends (last registered, first run), before the leak check. */
export function onCleanup(fn: () => unknown): void {
  cleanups.push(fn);
}

function count(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) {
    if (TRACKED.has(kind)) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts;
}

function excess(before: Map<string, number>): string[] {
  const out: string[] = [];
  for (const [kind, n] of count()) {
    const was = before.get(kind) ?? 0;
    if (n > was) out.push(`${n - was} ${kind}`);
  }
  return out;
}

/** Registers the hooks for every test in the calling file. */
export function failOnLeaks(settleMs = 2000): void {
  let before = new Map<string, number>();
  beforeEach(() => {
    cleanups = [];
    before = count();
  });
  afterEach(async () => {
    const errors: unknown[] = [];
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        errors.push(err);
      }
    }
    cleanups = [];
    if (errors.length > 0) throw new AggregateError(errors, 'a cleanup step failed');
    // Closed handles leave the list a loop turn or two after close(): allow them to settle.
    const deadline = Date.now() + settleMs;
    let left = excess(before);
    while (left.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      left = excess(before);
    }
    if (left.length > 0) throw new Error(`the test left behind: ${left.join(', ')}`);
  });
}
