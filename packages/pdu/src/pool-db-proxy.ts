/**
 * A pool of connections to one or more db_proxy_servers. Each request goes to a ready connection
 * with the fewest requests in flight (ties taken in turn), so load spreads over healthy servers; a
 * draining server (OTHER_STOP_RECV_PACKET) gets nothing new while its in-flight replies still land.
 *
 * When a server dies, the requests in flight on its connections fail with CONN_CLOSED (whether they
 * were stored is unknown: the caller decides about reading back) and new requests go to the others.
 * When no connection is ready, requests fail at once with POOL_UNAVAILABLE; when every ready
 * connection's window is full, with POOL_BUSY (not sent; 'drain' follows when there is room).
 */
import type { TeamTalkConnection, CorrelatedCommand, RequestOptions } from './connection.ts';
import { ConnectionError } from './errors.ts';
import type { BodyInput, BodyOf, KnownCommand } from './messages.ts';
import { PoolBase, type PoolBaseOptions, type PoolEvents } from './pool-base.ts';
import { formatAddress, memberOf, type PoolMember } from './pool-members.ts';
import type { RequestBatch } from './request-batch.ts';

export interface DbProxyPoolOptions extends PoolBaseOptions {
  /** Connections opened to each server. Default 2. */
  readonly connectionsPerServer?: number;
}

export interface DbProxyPoolEvents extends PoolEvents {
  /** After the pool filled up (canRequest went false) or refused with POOL_BUSY: some connection has room again. */
  drain: [];
  /** A request got no reply in time (see TeamTalkConnection's 'unanswered'). */
  unanswered: [member: PoolMember, commandId: number, answeredMeanwhile: boolean];
}

export interface DbProxyRequestOptions<R extends KnownCommand> extends RequestOptions<R> {
  /** Only over a connection to this server (`host:port`); POOL_UNAVAILABLE when none of them is ready. */
  readonly address?: string;
}

export class DbProxyPool extends PoolBase<DbProxyPoolEvents> {
  private next = 0;
  private needDrain = false;

  constructor(options: DbProxyPoolOptions) {
    const { connectionsPerServer = 2, ...poolOptions } = options;
    if (!Number.isInteger(connectionsPerServer) || connectionsPerServer < 1) {
      throw new RangeError(`connectionsPerServer must be a positive integer, got ${connectionsPerServer}`);
    }
    super('db_proxy_server', poolOptions, (address) =>
      Array.from({ length: connectionsPerServer }, (_, i) => `${formatAddress(address)}#${i}`),
    );
    for (const connection of this.connections) {
      connection.on('unanswered', (commandId, answeredMeanwhile) =>
        this.emit('unanswered', memberOf(connection), commandId, answeredMeanwhile),
      );
    }
  }

  /** Whether some connection is ready (not draining). */
  get ready(): boolean {
    return this.connections.some((c) => c.status === 'ready');
  }

  /** Whether request() would send a request now. */
  get canRequest(): boolean {
    return this.connections.some((c) => c.canRequest);
  }

  /**
   * Connects every connection. Resolves as soon as one is ready; rejects with POOL_UNAVAILABLE when
   * every first attempt failed (the connections keep retrying in the background until close()).
   */
  async start(): Promise<void> {
    try {
      await Promise.any(this.connections.map((c) => c.connect()));
    } catch (err) {
      const error = this.unavailable();
      throw new ConnectionError(error.code, error.message, { cause: err });
    }
  }

  /** How long no connection to this server (`host:port`) has been ready or draining; 0 while one is. */
  unreachableForMs(address: string): number {
    let least = Infinity;
    for (const c of this.connections) if (c.address === address) least = Math.min(least, c.notReadyForMs);
    return least === Infinity ? 0 : least;
  }

  /**
   * Sends a request over the least busy ready connection (to `options.address` only, when given); see
   * TeamTalkConnection.request for its failures.
   */
  request<C extends CorrelatedCommand, R extends KnownCommand>(
    commandId: C,
    body: BodyInput<C>,
    options: DbProxyRequestOptions<R>,
  ): Promise<BodyOf<R>> {
    const only = options.address;
    const { best, anyReady } = this.leastBusy(only);
    if (best) {
      const reply = best.request(commandId, body, options);
      // The pool just filled up: promise a 'drain', as a stream whose write() answered false would.
      if (best.inFlight >= best.maxInFlight && !this.canRequest) this.needDrain = true;
      return reply;
    }
    if (anyReady) {
      this.needDrain = true;
      return Promise.reject(
        new ConnectionError('POOL_BUSY', "every ready db_proxy_server connection has a full window; wait for 'drain'"),
      );
    }
    return Promise.reject(
      this.unavailable(only === undefined ? this.connections : this.connections.filter((c) => c.address === only)),
    );
  }

  /**
   * Sends the requests tags[from..to) of `batch` (see TeamTalkConnection.requestBatch), spread over the ready
   * connections with room, the least busy first; answers how many were issued, from `from` on. The rest were
   * not sent: no connection is ready, or every ready one has a full window (then 'drain' follows, as after
   * POOL_BUSY).
   */
  requestBatch(batch: RequestBatch, tags: ArrayLike<number>, from: number, to: number): number {
    const conns = this.connections;
    const n = conns.length;
    let k = from;
    let anyReady = false;
    while (k < to) {
      const start = this.next;
      this.next = (this.next + 1) % n;
      let best: TeamTalkConnection | undefined;
      let withRoom = 0;
      for (let j = 0; j < n; j++) {
        const c = conns[(start + j) % n]!;
        if (c.status !== 'ready') continue;
        anyReady = true;
        if (c.inFlight >= c.maxInFlight) continue;
        withRoom++;
        if (!best || c.inFlight < best.inFlight) best = c;
      }
      if (!best) break;
      // An even share of what is left for each connection with room: the least busy one takes its share now.
      const issued = best.requestBatch(batch, tags, k, Math.min(to, k + Math.ceil((to - k) / withRoom)));
      if (issued === 0) break;
      k += issued;
    }
    if (anyReady && !this.canRequest) this.needDrain = true;
    return k - from;
  }

  protected drained(): void {
    if (this.needDrain && this.canRequest) {
      this.needDrain = false;
      this.emit('drain');
    }
  }

  /** The ready connection (to `only`, when given) with the fewest requests in flight; ties taken in turn. */
  private leastBusy(only: string | undefined): { best: TeamTalkConnection | undefined; anyReady: boolean } {
    const conns = this.connections;
    const n = conns.length;
    const start = this.next;
    this.next = (this.next + 1) % n;
    let best: TeamTalkConnection | undefined;
    let anyReady = false;
    for (let k = 0; k < n; k++) {
      const c = conns[(start + k) % n]!;
      if (c.status !== 'ready') continue;
      if (only !== undefined && c.address !== only) continue;
      anyReady = true;
      if (c.inFlight >= c.maxInFlight) continue;
      if (!best || c.inFlight < best.inFlight) best = c;
    }
    return { best, anyReady };
  }
}
