/**
 * The single sends through /query/SendSingleMessage (synchronous, one connection per request as the legacy
 * API answers), against bare Express, the raw sender (one connection per request too) and POST /v1/messages.
 */
import type { BenchContext } from '../context.ts';
import { KINDS, bare, cpuSplitNote, kindLabel, query, rawClose, v1 } from '../issue-load.ts';
import { ratio, round } from '../report.ts';

export async function queryRows(ctx: BenchContext): Promise<void> {
  for (const kind of KINDS) {
    const label = kindLabel(kind);
    const b = await bare(ctx, kind);
    const raw = await rawClose(ctx, kind);
    const t = await query(ctx, kind);
    const single = await v1(ctx, kind);
    ctx.report.add({
      what: `raw sender (Connection: close), ${label}`,
      value: `${round(raw.rps)} req/s`,
      ratio: `${ratio(raw.rps, b.rps)} of bare`,
      note: `/query's floor; p50 ${raw.p50} ms, p99 ${raw.p99} ms; CPU ${round(raw.cpuUsPerMsg)} µs/msg; errors ${raw.errors}`,
    });
    ctx.report.add({
      what: `/query/SendSingleMessage, ${label}`,
      value: `${round(t.rps)} req/s`,
      ratio: `${ratio(t.rps, b.rps)} of bare, ${ratio(t.rps, raw.rps)} of raw`,
      target: '≥ 0.5 of bare',
      note: `p50 ${t.p50} ms, p99 ${t.p99} ms; errors ${t.errors}`,
    });
    ctx.report.add({
      what: `/query p50 against /v1 p50, ${label}`,
      value: `${t.p50} ms vs ${single.p50} ms`,
      ratio: ratio(t.p50, single.p50),
      target: '≤ 2',
    });
    ctx.report.add({
      what: `CPU per /query, ${label}`,
      value: `${round(t.cpuUsPerMsg)} µs/msg`,
      ratio: `${ratio(t.cpuUsPerMsg, single.cpuUsPerMsg)} of a /v1 single`,
      target: '≤ 1.5',
      note: `api + worker + redis-server (${cpuSplitNote(t)}); raw sender ${round(raw.cpuUsPerMsg)} µs/msg`,
    });
  }
}
