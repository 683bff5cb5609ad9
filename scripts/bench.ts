/**
 * `npm run bench`: throughput, latency, CPU and memory figures, printed as a table with each figure's ratio against
 * a baseline measured in the same run and the target it is held to. A script, not a test: it asserts nothing.
 *
 *   npm run bench -- [--only SECTIONS] [--tree DIR]
 *
 * --only (or BENCH_ONLY) runs a comma-separated subset of the sections, in this order:
 *   ceiling    the sandbox db_proxy's ceiling for a pipelined client
 *   raw        the raw pipelined sender (no Redis, no HTTP) against the same sandbox
 *   fanout     a 200,000-recipient batch (rate and CPU per message against raw), alert latency while it drains
 *   big        a 1,000,000-recipient NDJSON upload, and the api's peak RSS through the batches
 *   singles    the load through POST /v1/messages: 3,000 sends at 64 keep-alive connections to new and to
 *              5,000 existing conversations, against bare Express and the raw node:http + TeamTalk sender
 *   query      the same load through /query/SendSingleMessage
 *   sustained  bare Express, /v1 and /query for BENCH_SECONDS (default 10) each
 *   redis      Redis bytes per queued and per retained finished message (a stack of its own)
 *   realistic  singles and a 50,000-recipient batch against the sandbox db_proxy's thread-pool mode, as ratios of
 *              the raw senders against the same mode (a stack of its own)
 *   webhook    single sends with and without a webhook endpoint that never answers (a stack of its own)
 * The peak RSS of the main stack's api and worker closes the sections that use it.
 *
 * --tree DIR (or BENCH_TREE) runs the api and the workers of another checkout of the project (e.g. an older commit,
 * with its own node_modules); the bench, its baselines and the sandbox come from this tree: a before/after in one run.
 */
import { parseArgs } from 'node:util';
import { BenchContext } from './bench/context.ts';
import { peakRssMb, ttpushTree } from './bench/stack.ts';
import { rawPipelinedRows, sandboxCeiling } from './bench/sections/ceilings.ts';
import { bigUploadRows, fanOutRows } from './bench/sections/fanout.ts';
import { singlesRows } from './bench/sections/singles.ts';
import { queryRows } from './bench/sections/query.ts';
import { sustainedRows } from './bench/sections/sustained.ts';
import { redisMemoryRows } from './bench/sections/redis-memory.ts';
import { realisticRows } from './bench/sections/realistic.ts';
import { webhookRows } from './bench/sections/webhook.ts';

const MAIN_STACK = ['raw', 'fanout', 'big', 'singles', 'query', 'sustained'];
const SECTIONS: Record<string, (ctx: BenchContext) => Promise<void>> = {
  ceiling: sandboxCeiling,
  raw: rawPipelinedRows,
  fanout: fanOutRows,
  big: bigUploadRows,
  singles: singlesRows,
  query: queryRows,
  sustained: sustainedRows,
  rss: rssRows,
  redis: redisMemoryRows,
  realistic: realisticRows,
  webhook: webhookRows,
};

async function rssRows(ctx: BenchContext): Promise<void> {
  const stack = await ctx.main();
  ctx.report.add({
    what: 'peak RSS api, whole run',
    value: `${peakRssMb(stack.api.child.pid)} MB`,
    note: 'high-water mark over every section on the main stack',
  });
  ctx.report.add({
    what: 'peak RSS worker',
    value: `${peakRssMb(stack.workers[0]!.child.pid)} MB`,
    target: '< 300 MB',
    note: 'high-water mark over every section on the main stack',
  });
}

function selected(): string[] {
  const { values } = parseArgs({
    options: { only: { type: 'string' }, tree: { type: 'string' } },
    strict: true,
    allowPositionals: false,
  });
  if (values.tree) process.env.BENCH_TREE = values.tree;
  const only = values.only ?? process.env.BENCH_ONLY;
  if (!only) return Object.keys(SECTIONS);
  const wanted = only.split(',').map((s) => s.trim());
  const unknown = wanted.filter((s) => !(s in SECTIONS));
  if (unknown.length)
    throw new Error(`--only: unknown ${unknown.join(', ')}; sections: ${Object.keys(SECTIONS).join(', ')}`);
  // The RSS rows follow any section of the main stack.
  if (wanted.some((s) => MAIN_STACK.includes(s))) wanted.push('rss');
  return Object.keys(SECTIONS).filter((s) => wanted.includes(s));
}

async function main(): Promise<void> {
  const sections = selected();
  const ctx = new BenchContext(Number(process.env.BENCH_SECONDS ?? 10), 64);
  const tree = ttpushTree();
  console.error(
    `ttpush bench: api and worker from ${tree.dir}; sections ${sections.join(', ')}; ${ctx.seconds} s per sustained load, ${ctx.connections} connections (node ${process.version})`,
  );
  try {
    for (const name of sections) {
      console.error(`${name}`);
      await SECTIONS[name]!(ctx);
      // The main stack is done: the sections after these rows run stacks of their own.
      if (name === 'rss') await ctx.close();
    }
  } finally {
    await ctx.close();
  }
  ctx.report.print();
}

await main();
