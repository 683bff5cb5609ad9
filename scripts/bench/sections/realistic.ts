/**
 * Against the sandbox db_proxy in thread-pool mode (`ttpush sandbox --db-pool`: 4 worker threads, each taking a
 * random queued request for 0.3 to 3 ms, replies out of order), a stack of its own: single sends to new
 * conversations through POST /v1/messages and a 50,000-recipient batch, each as a ratio of the raw sender's rate
 * against the same sandbox in the same run (the raw HTTP sender for singles, the raw pipelined sender for the batch).
 */
import type { BenchContext } from '../context.ts';
import { startServer } from '../context.ts';
import { countLoad } from '../count-load.ts';
import { fanOut } from '../fan-out.ts';
import { rawCeiling } from '../raw-ceiling.ts';
import { BENCH_KEY, drained, startStack, stop } from '../stack.ts';
import { ratio, round } from '../report.ts';
import { SENDS } from '../issue-load.ts';

const BATCH = 50_000;

export async function realisticRows(ctx: BenchContext): Promise<void> {
  const stack = await startStack({ sandboxArgs: ['--db-pool'] });
  const raw = await startServer('raw-sender', './raw-sender.ts', [String(stack.ports.db), String(stack.ports.route)]);
  try {
    const body = (to: number) => JSON.stringify({ from: 1, to: { user: to }, content: `bench message ${to}` });
    const auth = { authorization: `Bearer ${BENCH_KEY}` };
    const rawUrl = `http://127.0.0.1:${raw.port}/send`;
    const v1Url = `${stack.url}/v1/messages`;
    // Warm-ups, to conversations no measured load uses.
    await countLoad(rawUrl, 500, ctx.connections, (i) => body(4_000_000 + i));
    await countLoad(v1Url, 500, ctx.connections, (i) => body(4_100_000 + i), auth);
    await drained(stack.url);

    const r = await countLoad(rawUrl, SENDS, ctx.connections, (i) => body(4_200_000 + i));
    const accepted = await countLoad(
      v1Url,
      SENDS,
      ctx.connections,
      (i) => body(4_300_000 + i),
      auth,
      () => drained(stack.url),
    );
    const sentRate = accepted.ok / accepted.settledSeconds;
    ctx.report.add({
      what: 'pool db_proxy: raw sender singles',
      value: `${round(r.rps)} msg/s`,
      note: `${SENDS} to new conversations at ${ctx.connections} connections; p50 ${r.p50} ms, p99 ${r.p99} ms; errors ${r.non2xx}`,
    });
    ctx.report.add({
      what: 'pool db_proxy: POST /v1/messages singles sent',
      value: `${round(sentRate)} msg/s`,
      ratio: `${ratio(sentRate, r.rps)} of raw sender`,
      target: '≥ 0.95',
      note: `accept to drained; accepted at ${round(accepted.rps)} req/s (p50 ${accepted.p50} ms, p99 ${accepted.p99} ms), drained ${Math.round((accepted.settledSeconds - accepted.seconds) * 1000)} ms after the last 202; non-2xx ${accepted.non2xx}`,
    });

    const pipelined = await rawCeiling(stack.ports.db, stack.ports.route, 2, 1000, 5);
    const fan = await fanOut(stack.url, BATCH, 5_000_000, 0);
    ctx.report.add({
      what: 'pool db_proxy: raw pipelined sender',
      value: `${round(pipelined.rate)} msg/s`,
      note: '2 connections, 1,000 in flight on each',
    });
    ctx.report.add({
      what: `pool db_proxy: ${BATCH.toLocaleString('en')}-recipient batch`,
      value: `${round(fan.rate)} msg/s`,
      ratio: `${ratio(fan.rate, pipelined.rate)} of raw pipelined`,
      target: '≥ 0.95',
      note: `accept to all stored and forwarded in ${fan.seconds.toFixed(1)} s`,
    });
  } finally {
    await stop(raw.proc);
    await stack.close();
  }
}
