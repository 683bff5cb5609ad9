/**
 * Redis bytes per message: used_memory of a stack of its own before and after accepting N single sends with the
 * worker paused (SIGSTOP: queued), and after the worker finished them (retained finished messages). Each of these
 * goes to a conversation of its own, so the retained figure holds the conversation's state (kept 30 days after its
 * last send) as well: a load to the same conversations afterwards tells the two apart. Another stack runs the first
 * load with texts over 64 bytes (a hash given a longer value leaves Redis' compact listpack encoding).
 *
 * Capped structures are not a message's: the warm-up fills the recent index (1,000 entries per partition), and the
 * growth of BullMQ's event streams (about 10,000 entries per queue at most) is told in the notes. Hash tables
 * (Redis' keys and expiries, a sorted set's members) grow by doubling: a window pays for the doublings within it.
 */
import type { BenchContext } from '../context.ts';
import { countLoad } from '../count-load.ts';
import { keyBytes, usedMemory } from '../redis-info.ts';
import { BENCH_KEY, drained, startStack } from '../stack.ts';
import { round } from '../report.ts';

const N = 10_000;
/**
 * The load to conversations that already have state, sized to fit the hash tables the first load grew (the list
 * index's included): it pays no table growth (see the notes).
 */
const AGAIN = 4_000;
const FIRST_TO = 3_000_000;
/** More than the recent index's cap (1,000 per partition; the stack runs one). */
const WARM_UP = 1_200;
const CAPPED = ['*:lanes:events', '*:ix:recent'];

interface Point {
  used: number;
  /** Bytes of the capped structures. */
  capped: number;
}

/** A stack of its own, warmed up, where `load` runs: it gets a send function and the way to read a Point. */
async function onStack<T>(
  ctx: BenchContext,
  load: (s: {
    send: (n: number, first: number, text?: (to: number) => string) => Promise<{ ok: number }>;
    settled: () => Promise<Point>;
    pause: <R>(during: () => Promise<R>) => Promise<R>;
    used: () => Promise<number>;
  }) => Promise<T>,
): Promise<T> {
  const stack = await startStack();
  try {
    const auth = { authorization: `Bearer ${BENCH_KEY}` };
    const body = (to: number, text: string) => JSON.stringify({ from: 1, to: { user: to }, content: text });
    const send = (n: number, first: number, text = (to: number) => `bench message ${to}`) =>
      countLoad(`${stack.url}/v1/messages`, n, ctx.connections, (i) => body(first + i, text(first + i)), auth);
    const port = stack.redis.port;
    const settled = async (): Promise<Point> => {
      await drained(stack.url);
      // Finishing writes its records asynchronously to the queue's depth: a moment for the last of them.
      await new Promise((r) => setTimeout(r, 500));
      return { used: await usedMemory(port), capped: await keyBytes(port, CAPPED) };
    };
    const pause = async <R>(during: () => Promise<R>): Promise<R> => {
      const worker = stack.workers[0]!.child;
      worker.kill('SIGSTOP');
      try {
        return await during();
      } finally {
        worker.kill('SIGCONT');
      }
    };
    // A warm-up first: structures made once (scripts, indexes, counters) are not a message's.
    await send(WARM_UP, 2_000_000);
    return await load({ send, settled, pause, used: () => usedMemory(port) });
  } finally {
    await stack.close();
  }
}

export async function redisMemoryRows(ctx: BenchContext): Promise<void> {
  const per = (from: Point, to: Point, count: number) => (to.used - from.used) / count;
  const capped = (from: Point, to: Point, count: number) =>
    `of which ${round((to.capped - from.capped) / count)} B the capped structures (BullMQ event streams, recent index)`;
  const short = await onStack(ctx, async ({ send, settled, pause, used }) => {
    const start = await settled();
    const accepted = await pause(() => send(N, FIRST_TO));
    const queued = await used();
    const retained = await settled();
    // The same conversations again: a record and its list index entry, no new conversation state.
    const again = await send(AGAIN, FIRST_TO);
    return { start, n: accepted.ok, queued, retained, again: again.ok, retainedAgain: await settled() };
  });
  // The same as the first load, with texts over hash-max-listpack-value (64 bytes): the same tables grow.
  const long = await onStack(ctx, async ({ send, settled, pause }) => {
    const start = await settled();
    const accepted = await pause(() => send(N, FIRST_TO, (to) => `bench message ${to} `.padEnd(150, 'x')));
    return { start, n: accepted.ok, retained: await settled() };
  });

  const { start, n, retained } = short;
  const existing = per(retained, short.retainedAgain, short.again);
  ctx.report.add({
    what: 'Redis per queued message',
    value: `${round((short.queued - start.used) / n)} B`,
    note: `used_memory after accepting ${n} singles with the worker paused`,
  });
  ctx.report.add({
    what: 'Redis per retained finished message',
    value: `${round(per(start, retained, n))} B`,
    target: '≤ 250 B',
    note:
      `used_memory after the same ${n} were sent (record kept for TTPUSH_RECORD_TTL), each to a new conversation ` +
      `(its state is in: the rows below tell it apart); ${capped(start, retained, n)}`,
  });
  ctx.report.add({
    what: 'Redis per retained finished message, existing conversation',
    value: `${round(existing)} B`,
    note:
      `${short.again} more to the same conversations: the record and its list index entry; ` +
      `${capped(retained, short.retainedAgain, short.again)}; no hash table grew in this window`,
  });
  ctx.report.add({
    what: 'Redis per new conversation',
    value: `${round(per(start, retained, n) - existing)} B`,
    note:
      'the two rows above apart: the conversation state (kept 30 days after its last send) and the growth of the ' +
      'hash tables (keys, expiries, list index) the row above does not pay',
  });
  ctx.report.add({
    what: 'Redis per retained finished message, 150-character text',
    value: `${round(per(long.start, long.retained, long.n))} B`,
    note: `as the retained row, another stack, texts over 64 bytes; ${capped(long.start, long.retained, long.n)}`,
  });
}
