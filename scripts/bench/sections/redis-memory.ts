/**
 * Redis bytes per message: used_memory of a stack of its own before and after accepting N single sends with the
 * worker paused (SIGSTOP: queued), and after the worker finished them (retained finished messages).
 */
import type { BenchContext } from '../context.ts';
import { countLoad } from '../count-load.ts';
import { usedMemory } from '../redis-info.ts';
import { BENCH_KEY, drained, startStack } from '../stack.ts';
import { round } from '../report.ts';

const N = 10_000;

export async function redisMemoryRows(ctx: BenchContext): Promise<void> {
  const stack = await startStack();
  try {
    const auth = { authorization: `Bearer ${BENCH_KEY}` };
    const body = (to: number) => JSON.stringify({ from: 1, to: { user: to }, content: `bench message ${to}` });
    const send = (n: number, first: number) =>
      countLoad(`${stack.url}/v1/messages`, n, ctx.connections, (i) => body(first + i), auth);
    // A warm-up first: structures made once (scripts, indexes, counters) are not a message's.
    await send(500, 2_000_000);
    await drained(stack.url);
    const port = stack.redis.port;
    const before = await usedMemory(port);
    const worker = stack.workers[0]!.child;
    worker.kill('SIGSTOP');
    let accepted;
    try {
      accepted = await send(N, 3_000_000);
    } finally {
      worker.kill('SIGCONT');
    }
    const queued = await usedMemory(port);
    await drained(stack.url);
    // Finishing writes its records asynchronously to the queue's depth: a moment for the last of them.
    await new Promise((r) => setTimeout(r, 500));
    const retained = await usedMemory(port);
    const n = accepted.ok;
    ctx.report.add({
      what: 'Redis per queued message',
      value: `${round((queued - before) / n)} B`,
      note: `used_memory after accepting ${n} singles with the worker paused`,
    });
    ctx.report.add({
      what: 'Redis per retained finished message',
      value: `${round((retained - before) / n)} B`,
      target: '≤ 250 B',
      note: `used_memory after the same ${n} were sent (record kept for TTPUSH_RECORD_TTL)`,
    });
  } finally {
    await stack.close();
  }
}
