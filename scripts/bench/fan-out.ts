/**
 * Fan-out: uploads an NDJSON batch of `n` distinct user recipients through POST /v1/batches (streamed), then
 * polls the batch until completed. While it runs, sends a high-priority alert every 100 ms with ?wait and
 * records its accept-to-stored latency.
 */
import { Readable } from 'node:stream';
import { BENCH_KEY } from './stack.ts';

export interface FanOutResult {
  rate: number;
  seconds: number;
  uploadSeconds: number;
  alerts: number;
  alertP50: number;
  alertP99: number;
}

function ndjson(n: number, firstUser: number): Readable {
  let i = 0;
  return new Readable({
    read() {
      if (i === 0) this.push(`${JSON.stringify({ from: 1, content: 'ttpush bench: 限时优惠 🎉 marketing text' })}\n`);
      let chunk = '';
      for (let k = 0; k < 5000 && i < n; k++, i++) chunk += `{"user":${firstUser + i}}\n`;
      this.push(chunk.length ? chunk : null);
    },
  });
}

export async function fanOut(url: string, n: number, firstUser: number, alertEveryMs = 100): Promise<FanOutResult> {
  const auth = { authorization: `Bearer ${BENCH_KEY}` };
  const t0 = Date.now();
  const res = await fetch(`${url}/v1/batches`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/x-ndjson' },
    body: Readable.toWeb(ndjson(n, firstUser)) as ReadableStream,
    duplex: 'half',
  } as RequestInit);
  const created = (await res.json()) as { id: string };
  if (res.status !== 202) throw new Error(`batch upload answered ${res.status}: ${JSON.stringify(created)}`);
  const uploadSeconds = (Date.now() - t0) / 1000;
  const latencies: number[] = [];
  let done = false;
  const alerts = (async () => {
    if (alertEveryMs <= 0) return;
    let k = 0;
    while (!done) {
      const t = performance.now();
      const r = await fetch(`${url}/v1/messages?wait=5`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({
          from: 9,
          to: { user: 10 + (k++ % 1000) },
          content: 'ALERT: disk full',
          priority: 'high',
        }),
      });
      const v = (await r.json()) as { status: string };
      if (v.status === 'sent') latencies.push(performance.now() - t);
      await new Promise((r2) => setTimeout(r2, alertEveryMs));
    }
  })();
  for (;;) {
    const b = (await (await fetch(`${url}/v1/batches/${created.id}`, { headers: auth })).json()) as { status: string };
    if (b.status === 'completed' || b.status === 'cancelled') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (Date.now() - t0) / 1000;
  done = true;
  await alerts;
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? NaN);
  return { rate: n / seconds, seconds, uploadSeconds, alerts: latencies.length, alertP50: at(0.5), alertP99: at(0.99) };
}
