/**
 * `npm run bench`: throughput and latency figures, printed as a table with ratios against baselines
 * measured in the same run. A script, not a test: it asserts nothing.
 *
 *   0. sandbox ceiling: IMMsgData/s the sandbox db_proxy stores for a pipelined client
 *   3. single sends at 64 connections: bare Express 5 (baseline), POST /v1/messages (accepted/s, sent/s,
 *      p50/p99), and /query/SendSingleMessage answered synchronously
 *   5. peak RSS of api and worker
 *   1. raw ceiling: a minimal pipelined sender (no Redis, no HTTP) over as many db_proxy connections as ttpush
 *   2. fan-out: a 200,000-recipient NDJSON batch, accept to all stored, and its ratio to the raw ceiling
 *   4. alert latency: high-priority single messages sent while that batch drains
 *   5. also after a 1,000,000-recipient NDJSON upload
 *   6. single sends with no webhook endpoint and with one that never answers (a stack of its own)
 */
import autocannon from 'autocannon';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BENCH_KEY, peakRssMb, spawnNode, startStack, stop, waitFor } from './bench/stack.ts';
import { closeLoad } from './bench/close-load.ts';
import { rawCeiling } from './bench/raw-ceiling.ts';
import { fanOut } from './bench/fan-out.ts';
import { webhookHang } from './bench/webhook-hang.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 64;
const rows: [string, string, string][] = [];
const row = (what: string, value: string, note = '') => {
  rows.push([what, value, note]);
  console.error(`  ${what}: ${value} ${note}`);
};

function sandboxCeiling(): number {
  const script = fileURLToPath(new URL('../packages/sandbox/test/bench/db-proxy-throughput.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, '--seconds', '5'], { encoding: 'utf8' });
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  return line ? (JSON.parse(line) as { repliesPerSecond: number }).repliesPerSecond : NaN;
}

interface Load {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  total: number;
}

async function load(url: string, body: (i: number) => string, headers: Record<string, string> = {}): Promise<Load> {
  let i = 0;
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: SECONDS,
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

async function queueDepth(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^ttpush_queue_depth (\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

async function main(): Promise<void> {
  console.error(`ttpush bench: ${SECONDS} s per load, ${CONNECTIONS} connections (node ${process.version})`);

  console.error('0. sandbox ceiling');
  const ceiling = sandboxCeiling();
  row('sandbox db_proxy ceiling', `${Math.round(ceiling)} msg/s`, '(target ≥ 150,000)');

  console.error('3. single sends');
  const bare = spawnNode('bare-express', [
    '--import',
    'tsx',
    fileURLToPath(new URL('./bench/bare-express.ts', import.meta.url)),
  ]);
  await waitFor(() => bare.output.join('').includes('port'), 'bare express');
  const barePort = (JSON.parse(bare.output.join('').split('\n')[0]!) as { port: number }).port;
  const msgBody = (i: number) =>
    JSON.stringify({ from: 1, to: { user: 1000 + (i % 50_000) }, content: `bench message ${i}` });
  const baseline = await load(`http://127.0.0.1:${barePort}/v1/messages`, msgBody);
  await stop(bare);
  row(
    'bare Express 5 (baseline)',
    `${Math.round(baseline.rps)} req/s`,
    `p50 ${baseline.p50} ms, p99 ${baseline.p99} ms`,
  );

  const stack = await startStack(1);
  try {
    console.error('1. raw ceiling');
    const raw = await rawCeiling(stack.ports.db, stack.ports.route, 2, 1000, 5);
    row(
      'raw pipelined ceiling (2 db_proxy connections)',
      `${Math.round(raw)} msg/s`,
      'no Redis, no HTTP: the comparison for fan-out',
    );

    console.error('2. fan-out, and 4. alert latency during it');
    const fan = await fanOut(stack.url, 200_000, 100_000);
    row(
      'fan-out: 200,000-recipient batch',
      `${Math.round(fan.rate)} msg/s`,
      `accept to all stored and forwarded in ${fan.seconds.toFixed(1)} s; ratio ${(fan.rate / raw).toFixed(2)} of raw (target ≥ 100,000 msg/s and ≥ 0.6)`,
    );
    row(
      'alert latency during the batch',
      `p50 ${fan.alertP50} ms`,
      `p99 ${fan.alertP99} ms over ${fan.alerts} high-priority alerts (target p99 < 200 ms)`,
    );

    console.error('5. a 1,000,000-recipient NDJSON upload');
    const big = await fanOut(stack.url, 1_000_000, 3_000_000, 0);
    row(
      '1M-recipient NDJSON batch',
      `${Math.round(big.rate)} msg/s`,
      `upload ${big.uploadSeconds.toFixed(1)} s, sent in ${big.seconds.toFixed(1)} s`,
    );
    // Read before the HTTP loads below: those are measured by their own row, at the end of the run.
    row(
      'peak RSS api through the batches',
      `${peakRssMb(stack.api.child.pid)} MB`,
      'high-water mark from start through the 200k fan-out and the 1M upload and send (target < 250 MB)',
    );

    const t0 = Date.now();
    const v1 = await load(`${stack.url}/v1/messages`, msgBody, { authorization: `Bearer ${BENCH_KEY}` });
    await waitFor(async () => (await queueDepth(stack.url)) === 0, 'queue drained', 300_000);
    // Batch chunks flush their counters asynchronously: count what this load accepted, timed to drained.
    const sent = v1.total - v1.non2xx;
    const sentRate = sent / ((Date.now() - t0) / 1000);
    row(
      'POST /v1/messages accepted',
      `${Math.round(v1.rps)} req/s`,
      `ratio ${(v1.rps / baseline.rps).toFixed(2)} of bare (target ≥ 0.7); p50 ${v1.p50} ms, p99 ${v1.p99} ms (target < 50); non-2xx ${v1.non2xx}`,
    );
    row('POST /v1/messages sent', `${Math.round(sentRate)} msg/s`, `${sent} sent, accept to drained`);

    const legacyBody = (i: number) =>
      JSON.stringify({
        app_key: BENCH_KEY,
        req_user_id: 2,
        from_user_id: 2,
        session_id: 100_000 + (i % 50_000),
        msg: `legacy ${i}`,
      });
    const legacy = await closeLoad(
      Number(new URL(stack.url).port),
      '/query/SendSingleMessage',
      legacyBody,
      CONNECTIONS,
      SECONDS,
    );
    row(
      '/query/SendSingleMessage (synchronous)',
      `${Math.round(legacy.rps)} req/s`,
      `ratio ${(legacy.rps / baseline.rps).toFixed(2)} of bare (target ≥ 0.5); p50 ${legacy.p50} ms, p99 ${legacy.p99} ms`,
    );

    row(
      'peak RSS api, whole run',
      `${peakRssMb(stack.api.child.pid)} MB`,
      'high-water mark including the 64-connection HTTP loads above',
    );
    row(
      'peak RSS worker',
      `${peakRssMb(stack.workers[0]!.child.pid)} MB`,
      'high-water mark over the whole run (target < 300 MB)',
    );
  } finally {
    await stack.close();
  }

  console.error('6. single sends while a webhook endpoint never answers');
  const hang = await webhookHang(20_000, CONNECTIONS);
  row(
    'sends with a hung webhook endpoint',
    `${Math.round(hang.withHungEndpoint)} msg/s`,
    `without an endpoint ${Math.round(hang.withoutEndpoint)} msg/s (mean of a run before and after; ratio ${(hang.withHungEndpoint / hang.withoutEndpoint).toFixed(2)}, target ≈ 1); ${hang.count} sends each, accept to drained`,
  );

  const w = [Math.max(...rows.map((r) => r[0].length)), Math.max(...rows.map((r) => r[1].length))];
  console.log(`\n${'measure'.padEnd(w[0]!)} | ${'value'.padEnd(w[1]!)} | notes`);
  console.log(`${'-'.repeat(w[0]!)}-|-${'-'.repeat(w[1]!)}-|------`);
  for (const [a, b, c] of rows) console.log(`${a.padEnd(w[0]!)} | ${b.padEnd(w[1]!)} | ${c}`);
  console.log();
}

await main();
