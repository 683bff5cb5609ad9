/**
 * A fixed number of POSTs over keep-alive connections (autocannon): the load is "3,000 sends at 64
 * connections". The rate is requests answered over the time from the start to the last answer: autocannon notices
 * that an `amount` is done only at its next 1-second tick, which would round a 2.1 s load up to 3 s.
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
  /** With `settle`: seconds from the start until `settle` resolved (started at the last answer). */
  settledSeconds: number;
}

export async function countLoad(
  url: string,
  amount: number,
  connections: number,
  body: (i: number) => string,
  headers: Record<string, string> = {},
  /** Waited for from the moment the last answer arrived (e.g. the queue drained). */
  settle?: () => Promise<void>,
): Promise<CountLoad> {
  let i = 0;
  let answered = 0;
  const t0 = performance.now();
  let last = t0;
  let settled: Promise<number> | undefined;
  const startSettle = () => (settled ??= (settle ?? (async () => undefined))().then(() => performance.now()));
  const result = await autocannon({
    url,
    connections,
    amount,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    requests: [
      {
        setupRequest: (req) => ({ ...req, body: body(i++) }),
        onResponse: () => {
          last = performance.now();
          if (++answered === amount) startSettle();
        },
      },
    ],
  });
  const seconds = (last - t0) / 1000;
  // Errors are not answers: the settle starts now if the answers fell short.
  const settledSeconds = ((await startSettle()) - t0) / 1000;
  const ok = result['2xx'];
  return {
    rps: ok / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    ok,
    seconds,
    settledSeconds,
  };
}
