/**
 * A load generator for the legacy API, which answers every request with `Connection:close` (as the old
 * http_msg_server did): each of `connections` loops opens a TCP connection, writes one POST, reads until the
 * server closes, and starts again. autocannon reconnects slowly after a server-side close, which measured
 * its own reconnect delay rather than the server; this measures the server. It asks for `Connection: close`
 * itself, so a server that would keep the connection alive (a baseline) closes it as the legacy API does.
 *
 * It runs for `limit.seconds`, or until `limit.amount` requests were sent.
 */
import { connect } from 'node:net';

export interface CloseLoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  total: number;
}

export async function closeLoad(
  port: number,
  path: string,
  body: (i: number) => string,
  connections: number,
  limit: { seconds: number } | { amount: number },
): Promise<CloseLoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let i = 0;
  const t0 = performance.now();
  const end = 'seconds' in limit ? t0 + limit.seconds * 1000 : Infinity;
  const amount = 'amount' in limit ? limit.amount : Infinity;
  const one = () =>
    new Promise<void>((resolve) => {
      const payload = body(i++);
      const t = performance.now();
      const sock = connect(port, '127.0.0.1');
      let got = '';
      sock.setTimeout(30_000, () => sock.destroy(new Error('timeout')));
      sock.on('data', (d) => (got += d.toString('latin1')));
      sock.on('error', () => {
        errors++;
        resolve();
      });
      sock.on('close', () => {
        if (got.startsWith('HTTP/1.1 200')) latencies.push(performance.now() - t);
        else errors++;
        resolve();
      });
      sock.write(
        `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\nConnection: close\r\n\r\n${payload}`,
      );
    });
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end && i < amount) await one();
    }),
  );
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? NaN);
  const seconds = (performance.now() - t0) / 1000;
  return { rps: latencies.length / seconds, p50: at(0.5), p99: at(0.99), errors, total: latencies.length };
}
