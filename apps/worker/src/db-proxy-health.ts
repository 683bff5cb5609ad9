/**
 * Requests db_proxy_server left without a reply, per server address: a counter for /metrics, and a `degraded`
 * state for /readyz and the console when a server keeps answering some requests and not others.
 *
 * That pattern is the real server's parked worker thread (notes §10): one thread of its fixed pool blocks for ever
 * in the group-message path and every request handed to it (about one in N, N = threads) is never answered, on
 * every connection, while the other threads answer normally; only a restart clears it. Silences db_proxy keeps on
 * purpose (a group send to an unknown group or from a non-member) are not that: the worker tells them apart with the
 * group queries and calls explained(), so they do not count towards `degraded`. A server that answers nothing at all
 * (an outage) does not count either: those requests were not answered meanwhile (see ConnectionError).
 */
import type { Logger } from 'pino';
import type { DbProxyPool } from '@ttpush/pdu';

export interface DbProxyHealthOptions {
  /** Unanswered requests are remembered this long. */
  windowMs: number;
  /** This many unexplained ones within the window make the address degraded. */
  degradedAfter: number;
  /** The warning is logged at most this often per address. */
  warnEveryMs: number;
}

export const DB_PROXY_HEALTH_DEFAULTS: DbProxyHealthOptions = {
  windowMs: 60_000,
  degradedAfter: 3,
  warnEveryMs: 300_000,
};

/** One db_proxy_server address as the worker's heartbeat reports it. */
export interface DbProxyAddressHealth {
  address: string;
  /** Requests left without a reply since the worker started. */
  unanswered: number;
  /** Within the window: left without a reply while the server answered others, and not explained. */
  recent: number;
  status: 'ok' | 'degraded';
  reason?: string;
}

interface AddressState {
  total: number;
  /** Not yet flushed to the stats hash. */
  unflushed: number;
  /** Times of unexplained unanswered-while-alive requests, oldest first. */
  recent: number[];
  lastWarn: number;
}

export const PARKED_THREAD_CAUSE =
  'db_proxy_server answers some requests and leaves others unanswered: likely a worker thread of db_proxy_server ' +
  'parked for ever (a known bug under concurrent group sends: about one request in N threads is never answered, ' +
  'on every connection); ttpush keeps delivering by reading back and resending, more slowly. ' +
  'Fix: restart that db_proxy_server';

export class DbProxyHealth {
  private readonly byAddress = new Map<string, AddressState>();

  constructor(
    pool: DbProxyPool,
    private readonly log: Logger,
    private readonly opts: DbProxyHealthOptions = DB_PROXY_HEALTH_DEFAULTS,
    private readonly now: () => number = Date.now,
  ) {
    for (const c of pool.connections) this.state(c.address);
    pool.on('unanswered', (member, _command, answeredMeanwhile) => this.unanswered(member.address, answeredMeanwhile));
  }

  /** A request to `address` got no reply in time. */
  unanswered(address: string, answeredMeanwhile: boolean): void {
    const s = this.state(address);
    s.total++;
    s.unflushed++;
    if (answeredMeanwhile) s.recent.push(this.now());
  }

  /** One unanswered request of `address` was a deliberate silence (unknown group, non-member). */
  explained(address: string): void {
    this.byAddress.get(address)?.recent.pop();
  }

  /** Every address's state; logs the warning (rate-limited) for a degraded one. Called once a second. */
  report(): DbProxyAddressHealth[] {
    const now = this.now();
    const out: DbProxyAddressHealth[] = [];
    for (const [address, s] of this.byAddress) {
      const since = now - this.opts.windowMs;
      while (s.recent.length > 0 && s.recent[0]! < since) s.recent.shift();
      const degraded = s.recent.length >= this.opts.degradedAfter;
      if (degraded && now - s.lastWarn >= this.opts.warnEveryMs) {
        s.lastWarn = now;
        this.log.warn(
          { dbProxy: address, unanswered: s.recent.length, windowMs: this.opts.windowMs, total: s.total },
          `db_proxy_server ${address} degraded: ${PARKED_THREAD_CAUSE}`,
        );
      }
      out.push({
        address,
        unanswered: s.total,
        recent: s.recent.length,
        status: degraded ? 'degraded' : 'ok',
        ...(degraded
          ? {
              reason: `${s.recent.length} requests unanswered in the last ${Math.round(this.opts.windowMs / 1000)} s while it answered others: likely a parked db_proxy_server thread; restart that db_proxy_server`,
            }
          : {}),
      });
    }
    return out;
  }

  /** Unanswered requests per address since the last call (for the stats hash). */
  takeCounts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [address, s] of this.byAddress) {
      if (s.unflushed > 0) out.set(address, s.unflushed);
      s.unflushed = 0;
    }
    return out;
  }

  private state(address: string): AddressState {
    let s = this.byAddress.get(address);
    if (!s) this.byAddress.set(address, (s = { total: 0, unflushed: 0, recent: [], lastWarn: -Infinity }));
    return s;
  }
}
