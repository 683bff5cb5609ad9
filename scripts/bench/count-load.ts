/**
 * A fixed number of POSTs over keep-alive connections (autocannon): the load is "3,000 sends at 64
 * connections". The rate is requests answered over the wall time of the whole load.
 */
import autocannon from 'autocannon';

export interface CountLoad {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  /** 2xx answers. */
  ok: number;
  seconds: number;
}

export async function countLoad(
  url: string,
  amount: number,
  connections: number,
  body: (i: number) => string,
  headers: Record<string, string> = {},
): Promise<CountLoad> {
  let i = 0;
  const t0 = performance.now();
  const result = await autocannon({
    url,
    connections,
    amount,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    requests: [{ setupRequest: (req) => ({ ...req, body: body(i++) }) }],
  });
  const seconds = (performance.now() - t0) / 1000;
  const ok = result['2xx'];
  return { rps: ok / seconds, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, ok, seconds };
}
