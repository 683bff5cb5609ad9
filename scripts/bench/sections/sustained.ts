/**
 * Sustained single sends for BENCH_SECONDS at 64 connections: bare Express, POST /v1/messages (accepted, and sent
 * accept to drained) and /query/SendSingleMessage, to 50,000 recipients in turn.
 */
import autocannon from 'autocannon';
import type { BenchContext } from '../context.ts';
import { closeLoad } from '../close-load.ts';
import { BENCH_KEY, drained } from '../stack.ts';
import { ratio, round } from '../report.ts';

interface Load {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  total: number;
}

async function load(
  ctx: BenchContext,
  url: string,
  body: (i: number) => string,
  headers: Record<string, string> = {},
): Promise<Load> {
  let i = 0;
  const result = await autocannon({
    url,
    connections: ctx.connections,
    duration: ctx.seconds,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    requests: [{ setupRequest: (req) => ({ ...req, body: body(i++) }) }],
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    total: result.requests.total,
  };
}

const msgBody = (i: number) =>
  JSON.stringify({ from: 1, to: { user: 1000 + (i % 50_000) }, content: `bench message ${i}` });

export async function sustainedRows(ctx: BenchContext): Promise<void> {
  const bare = await ctx.bare();
  const baseline = await load(ctx, `http://127.0.0.1:${bare.port}/v1/messages`, msgBody);
  const s = `${ctx.seconds} s`;
  ctx.report.add({
    what: `bare Express 5, sustained ${s}`,
    value: `${round(baseline.rps)} req/s`,
    note: `baseline; p50 ${baseline.p50} ms, p99 ${baseline.p99} ms`,
  });
  const stack = await ctx.main();
  const t0 = Date.now();
  const v1 = await load(ctx, `${stack.url}/v1/messages`, msgBody, { authorization: `Bearer ${BENCH_KEY}` });
  await drained(stack.url);
  // Counted from this load's answers, timed to drained.
  const sent = v1.total - v1.non2xx;
  ctx.report.add({
    what: `POST /v1/messages accepted, sustained ${s}`,
    value: `${round(v1.rps)} req/s`,
    ratio: `${ratio(v1.rps, baseline.rps)} of bare`,
    target: '≥ 0.7, p99 < 50 ms',
    note: `p50 ${v1.p50} ms, p99 ${v1.p99} ms; non-2xx ${v1.non2xx}`,
  });
  ctx.report.add({
    what: `POST /v1/messages sent, sustained ${s}`,
    value: `${round(sent / ((Date.now() - t0) / 1000))} msg/s`,
    note: `${sent} sent, accept to drained`,
  });
  const legacyBody = (i: number) =>
    JSON.stringify({
      app_key: BENCH_KEY,
      req_user_id: 2,
      from_user_id: 2,
      session_id: 100_000 + (i % 50_000),
      msg: `legacy ${i}`,
    });
  const port = Number(new URL(stack.url).port);
  const legacy = await closeLoad(port, '/query/SendSingleMessage', legacyBody, ctx.connections, {
    seconds: ctx.seconds,
  });
  ctx.report.add({
    what: `/query/SendSingleMessage, sustained ${s}`,
    value: `${round(legacy.rps)} req/s`,
    ratio: `${ratio(legacy.rps, baseline.rps)} of bare`,
    target: '≥ 0.5',
    note: `p50 ${legacy.p50} ms, p99 ${legacy.p99} ms`,
  });
}
