/**
 * Fan-out: a 200,000-recipient NDJSON batch, accept to all stored, with high-priority alerts sent while it drains;
 * its rate and CPU time per message against the raw pipelined sender; then a 1,000,000-recipient upload.
 */
import type { BenchContext } from '../context.ts';
import { fanOut } from '../fan-out.ts';
import { withCpu } from '../proc-cpu.ts';
import { peakRssMb } from '../stack.ts';
import { ratio, round } from '../report.ts';
import { rawPipelined } from './ceilings.ts';

export async function fanOutRows(ctx: BenchContext): Promise<void> {
  const raw = await rawPipelined(ctx);
  const stack = await ctx.main();
  const { result: fan, cpuUs } = await withCpu(stack.pids, () => fanOut(stack.url, 200_000, 100_000));
  ctx.report.add({
    what: 'fan-out: 200,000-recipient batch',
    value: `${round(fan.rate)} msg/s`,
    ratio: `${ratio(fan.rate, raw.rate)} of raw pipelined`,
    target: '≥ 100,000 msg/s and ≥ 0.6',
    note: `accept to all stored and forwarded in ${fan.seconds.toFixed(1)} s`,
  });
  const perMsg = cpuUs / 200_000;
  ctx.report.add({
    what: 'CPU per fan-out message',
    value: `${round(perMsg)} µs/msg`,
    ratio: `${ratio(raw.cpuUsPerMsg, perMsg)} (raw ÷ ttpush)`,
    target: '≥ 0.7',
    note: `api + worker + redis-server over the 200k batch (alerts included); raw pipelined ${round(raw.cpuUsPerMsg)} µs/msg`,
  });
  ctx.report.add({
    what: 'alert latency during the batch',
    value: `p50 ${fan.alertP50} ms`,
    target: 'p99 < 200 ms',
    note: `p99 ${fan.alertP99} ms over ${fan.alerts} high-priority alerts`,
  });
}

export async function bigUploadRows(ctx: BenchContext): Promise<void> {
  const stack = await ctx.main();
  const big = await fanOut(stack.url, 1_000_000, 3_000_000, 0);
  ctx.report.add({
    what: '1M-recipient NDJSON batch',
    value: `${round(big.rate)} msg/s`,
    note: `upload ${big.uploadSeconds.toFixed(1)} s, sent in ${big.seconds.toFixed(1)} s`,
  });
  // Read before the HTTP loads: those are in the whole-run row.
  ctx.report.add({
    what: 'peak RSS api through the batches',
    value: `${peakRssMb(stack.api.child.pid)} MB`,
    target: '< 250 MB',
    note: 'high-water mark from start through the batches',
  });
}
