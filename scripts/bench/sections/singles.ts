/**
 * The single sends through POST /v1/messages (3,000 at 64 keep-alive connections, to new and to existing
 * conversations), against bare Express and the raw sender under the same load, in the same run.
 */
import type { BenchContext } from '../context.ts';
import { KINDS, bare, cpuSplitNote, kindLabel, rawKeepAlive, v1, type Measured } from '../issue-load.ts';
import { ratio, round } from '../report.ts';

const lat = (m: Measured) => `p50 ${m.p50} ms, p99 ${m.p99} ms`;

export async function singlesRows(ctx: BenchContext): Promise<void> {
  for (const kind of KINDS) {
    const label = kindLabel(kind);
    const b = await bare(ctx, kind);
    const raw = await rawKeepAlive(ctx, kind);
    const t = await v1(ctx, kind);
    ctx.report.add({
      what: `bare Express 5, ${label}`,
      value: `${round(b.rps)} req/s`,
      note: `baseline; ${lat(b)}; CPU ${round(b.cpuUsPerMsg)} µs/msg`,
    });
    ctx.report.add({
      what: `raw sender (keep-alive), ${label}`,
      value: `${round(raw.rps)} req/s`,
      ratio: `${ratio(raw.rps, b.rps)} of bare`,
      note: `floor of a drop-in: node:http + pdu, answered at db_proxy's reply; ${lat(raw)}; CPU ${round(raw.cpuUsPerMsg)} µs/msg; errors ${raw.errors}`,
    });
    ctx.report.add({
      what: `POST /v1/messages accepted, ${label}`,
      value: `${round(t.rps)} req/s`,
      ratio: `${ratio(t.rps, b.rps)} of bare`,
      target: '≥ 0.7, p99 < 50 ms',
      note: `${lat(t)}; non-2xx ${t.errors}`,
    });
    ctx.report.add({
      what: `POST /v1/messages sent, ${label}`,
      value: `${round(t.sentRate!)} msg/s`,
      ratio: `${ratio(t.sentRate, raw.rps)} of raw sender`,
      note: `accept to drained: drained ${t.drainMs} ms after the last 202`,
    });
    ctx.report.add({
      what: `CPU per /v1 single, ${label}`,
      value: `${round(t.cpuUsPerMsg)} µs/msg`,
      ratio: `${ratio(b.cpuUsPerMsg, t.cpuUsPerMsg)} (bare ÷ ttpush)`,
      target: '≥ 0.5',
      note: `api + worker + redis-server, accept to sent (${cpuSplitNote(t)}); bare ${round(b.cpuUsPerMsg)}, raw sender ${round(raw.cpuUsPerMsg)} µs/msg`,
    });
  }
}
