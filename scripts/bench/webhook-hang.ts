/**
 * Single-send throughput with and without a webhook endpoint that never answers: a local server that accepts
 * connections and never responds. Sends `count` messages through POST /v1/messages (api + worker against the
 * sandbox) from `connections` concurrent loops and times accept-to-drained (queue depth 0): after a warm-up run,
 * once with no endpoint, once with the hung endpoint subscribed to message.sent and message.failed, and once more
 * without (the endpoint deleted); the rate without is the mean of the two runs around the one with. The rates should
 * match: deliveries have their own loop and concurrency, so a hung receiver holds only webhook slots.
 *
 *   node --import tsx scripts/bench/webhook-hang.ts [count] [connections]   prints the result as JSON
 */
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { BENCH_KEY, drained, startStack } from './stack.ts';

export interface WebhookHangResult {
  count: number;
  /** Messages sent per second, accept to drained, with no endpoint: the mean of a run before and one after. */
  withoutEndpoint: number;
  /** The runs before and after the one with the hung endpoint. */
  withoutRuns: [number, number];
  /** The same with an endpoint that never answers. */
  withHungEndpoint: number;
  /** Connections the hung receiver accepted during the second run (attempts made and left hanging). */
  hungAttempts: number;
  /** Webhook deliveries still pending when the second run drained (the first page: at most 200). */
  undelivered: number;
}

async function sendAll(url: string, count: number, connections: number, offset: number): Promise<number> {
  let next = 0;
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      for (let i = next++; i < count; i = next++) {
        const r = await fetch(`${url}/v1/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${BENCH_KEY}` },
          body: JSON.stringify({ from: 1, to: { user: offset + i }, content: `hook bench ${i}` }),
        });
        await r.arrayBuffer();
        if (r.status !== 202) throw new Error(`send answered ${r.status}`);
      }
    }),
  );
  await drained(url);
  return count / ((Date.now() - t0) / 1000);
}

export async function webhookHang(count = 20_000, connections = 64): Promise<WebhookHangResult> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const hung = createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.resume();
  });
  await new Promise<void>((ok) => hung.listen(0, '127.0.0.1', ok));
  const stack = await startStack({ env: { TTPUSH_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32' } });
  try {
    // A warm-up run first: the first sends pay for JIT and connection set-up.
    await sendAll(stack.url, Math.min(2000, Math.ceil(count / 5)), connections, 500_000);
    const before = await sendAll(stack.url, count, connections, 1000);
    const r = await fetch(`${stack.url}/v1/webhooks/endpoints`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${BENCH_KEY}` },
      body: JSON.stringify({
        url: `http://127.0.0.1:${(hung.address() as AddressInfo).port}/hook`,
        events: ['message.sent', 'message.failed'],
      }),
    });
    if (r.status !== 201) throw new Error(`endpoint not created: ${r.status} ${await r.text()}`);
    const endpoint = ((await r.json()) as { id: string }).id;
    // The worker's subscription cache learns of the endpoint by a pub/sub notice.
    await new Promise((ok) => setTimeout(ok, 500));
    accepted = 0;
    const withHungEndpoint = await sendAll(stack.url, count, connections, 1000 + count);
    const listed = await fetch(`${stack.url}/v1/webhooks/deliveries?endpoint=${endpoint}&status=pending&limit=200`, {
      headers: { authorization: `Bearer ${BENCH_KEY}` },
    });
    const undelivered = ((await listed.json()) as { deliveries: unknown[] }).deliveries.length;
    const hungAttempts = accepted;
    // Again without: the endpoint deleted (its pending deliveries end at their next attempt).
    await fetch(`${stack.url}/v1/webhooks/endpoints/${endpoint}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${BENCH_KEY}` },
    });
    await new Promise((ok) => setTimeout(ok, 500));
    const after = await sendAll(stack.url, count, connections, 1000 + 2 * count);
    const withoutEndpoint = (before + after) / 2;
    return { count, withoutEndpoint, withoutRuns: [before, after], withHungEndpoint, hungAttempts, undelivered };
  } finally {
    await stack.close();
    for (const s of sockets) s.destroy();
    await new Promise((ok) => hung.close(ok));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await webhookHang(Number(process.argv[2] ?? 20_000), Number(process.argv[3] ?? 64));
  console.log(JSON.stringify(result));
}
