/**
 * The ceilings: IMMsgData/s the sandbox db_proxy stores for a pipelined client, and the raw pipelined sender (no
 * Redis, no HTTP) over as many db_proxy connections as ttpush opens, which fan-out is compared with.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from '../context.ts';
import { rawCeiling } from '../raw-ceiling.ts';
import { round } from '../report.ts';

export async function sandboxCeiling(ctx: BenchContext): Promise<void> {
  const script = fileURLToPath(new URL('../../../packages/sandbox/test/bench/db-proxy-throughput.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, '--seconds', '5'], { encoding: 'utf8' });
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  const rate = line ? (JSON.parse(line) as { repliesPerSecond: number }).repliesPerSecond : NaN;
  ctx.report.add({ what: 'sandbox db_proxy ceiling', value: `${round(rate)} msg/s`, target: '≥ 150,000 msg/s' });
}

/** The raw pipelined sender against the main stack's sandbox (2 connections, 1,000 in flight on each). */
export function rawPipelined(ctx: BenchContext): Promise<{ rate: number; cpuUsPerMsg: number }> {
  return ctx.once('raw pipelined', async () => {
    const { ports } = await ctx.main();
    return rawCeiling(ports.db, ports.route, 2, 1000, 5);
  });
}

export async function rawPipelinedRows(ctx: BenchContext): Promise<void> {
  const raw = await rawPipelined(ctx);
  ctx.report.add({
    what: 'raw pipelined sender (2 db_proxy connections)',
    value: `${round(raw.rate)} msg/s`,
    note: `no Redis, no HTTP: fan-out's comparison; CPU ${round(raw.cpuUsPerMsg)} µs/msg`,
  });
}
