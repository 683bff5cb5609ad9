// temporary profiling driver (not committed)
import autocannon from 'autocannon';
import { startStack, BENCH_KEY, waitFor } from './stack.ts';
import { closeLoad } from './close-load.ts';
const mode = process.argv[2] ?? 'v1';
const dir = `/work/prof/${mode}`;
const stack = await startStack(1, process.env.NOPROF ? {} : { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir}` });
try {
  if (mode === 'v1') {
    let i = 0;
    const r = await autocannon({
      url: `${stack.url}/v1/messages`, connections: 64, amount: 20000, method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${BENCH_KEY}` },
      requests: [{ setupRequest: (req) => ({ ...req, body: JSON.stringify({ from: 1, to: { user: 1000 + (i++ % 5000) }, content: `m ${i}` }) }) }],
    });
    console.log('v1 rps', r.requests.average, 'p50', r.latency.p50, 'p99', r.latency.p99, 'non2xx', r.non2xx);
    await waitFor(async () => /ttpush_queue_depth 0\b/.test(await (await fetch(`${stack.url}/metrics`)).text()), 'drain', 120000);
  } else {
    const r = await closeLoad(Number(new URL(stack.url).port), '/query/SendSingleMessage', (i) => JSON.stringify({ app_key: BENCH_KEY, req_user_id: 2, from_user_id: 2, session_id: 100000 + (i % 5000), msg: `legacy ${i}` }), 64, 8);
    console.log('query', r);
  }
} finally { await stack.close(); }
