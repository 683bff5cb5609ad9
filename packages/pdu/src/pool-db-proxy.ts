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
import { EventEmitter } from 'node:events';
import {
  TeamTalkConnection,
  type ConnectionStatus,
  type CorrelatedCommand,
  type RequestOptions,
} from './connection.ts';
import { ConnectionError } from './errors.ts';
import type { BodyInput, BodyOf, KnownCommand } from './messages.ts';
import { commandName } from './commands.ts';
import { silentLogger, type Logger } from './logger.ts';
import { systemTimers, type Timers } from './timers.ts';
import {
  checkAddresses,
  formatAddress,
  memberOf,
  poolUnavailable,
  type PoolConnectionOptions,
  type PoolMember,
  type ServerAddress,
} from './pool-members.ts';

export interface DbProxyPoolOptions extends PoolConnectionOptions {
  readonly addresses: readonly ServerAddress[];
  /** Connections opened to each server. Default 2. */
  readonly connectionsPerServer?: number;
}

export interface DbProxyPoolEvents {
  /** A connection changed status. */
  status: [member: PoolMember, prev: ConnectionStatus];
  /** After the pool filled up (canRequest went false) or refused with POOL_BUSY: some connection has room again. */
  drain: [];
  /** Emitted only when someone listens; connections log their errors themselves. */
  error: [err: Error, member: PoolMember];
  /** A request got no reply in time (see TeamTalkConnection's 'unanswered'). */
  unanswered: [member: PoolMember, commandId: number, answeredMeanwhile: boolean];
}

export interface DbProxyRequestOptions<R extends KnownCommand> extends RequestOptions<R> {
  /** Only over a connection to this server (`host:port`); POOL_UNAVAILABLE when none of them is ready. */
  readonly address?: string;
}

export class DbProxyPool extends EventEmitter<DbProxyPoolEvents> {
  readonly connections: readonly TeamTalkConnection[];
  private readonly timers: Timers;
  private readonly logger: Logger;
  private next = 0;
  private needDrain = false;
  private closing: Promise<void> | undefined;

  constructor(options: DbProxyPoolOptions) {
    super();
    const { addresses, connectionsPerServer = 2, ...connectionOptions } = options;
    checkAddresses(addresses, 'DbProxyPool');
    if (!Number.isInteger(connectionsPerServer) || connectionsPerServer < 1) {
      throw new RangeError(`connectionsPerServer must be a positive integer, got ${connectionsPerServer}`);
    }
    this.timers = options.timers ?? systemTimers;
    this.logger = options.logger ?? silentLogger;
    const connections: TeamTalkConnection[] = [];
    for (const address of addresses) {
      for (let i = 0; i < connectionsPerServer; i++) {
        const connection = new TeamTalkConnection({
          ...connectionOptions,
          host: address.host,
          port: address.port,
          name: `${formatAddress(address)}#${i}`,
        });
        connection.on('status', (_next, prev) => this.emit('status', memberOf(connection), prev));
        connection.on('drain', () => this.connectionDrained());
        connection.on('unanswered', (commandId, answeredMeanwhile) =>
          this.emit('unanswered', memberOf(connection), commandId, answeredMeanwhile),
        );
        connection.on('error', (err) => {
          if (this.listenerCount('error') > 0) this.emit('error', err, memberOf(connection));
        });
        connection.on('frame', (frame) =>
          this.logger.debug(
            { conn: connection.name, command: commandName(frame.commandId), seq: frame.seqNum },
            'ignoring an unsolicited frame from db_proxy_server',
          ),
        );
        connections.push(connection);
      }
    }
    this.connections = connections;
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
      const error = poolUnavailable('db_proxy_server', this.connections);
      throw new ConnectionError(error.code, error.message, { cause: err });
    }
  }

  /** Resolves when some connection is ready; rejects with POOL_UNAVAILABLE after `timeoutMs`. */
  waitReady(timeoutMs: number): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onStatus = () => {
        if (!this.ready) return;
        this.timers.clearTimeout(timer);
        this.off('status', onStatus);
        resolve();
      };
      const timer = this.timers.setTimeout(() => {
        this.off('status', onStatus);
        reject(poolUnavailable('db_proxy_server', this.connections));
      }, timeoutMs);
      this.on('status', onStatus);
    });
  }

  /** Requests that got no reply in time, per server address, since the pool was created. */
  unansweredByAddress(): Map<string, number> {
    const out = new Map<string, number>();
    for (const c of this.connections) out.set(c.address, (out.get(c.address) ?? 0) + c.unanswered);
    return out;
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
    const conns = this.connections;
    const n = conns.length;
    const start = this.next;
    this.next = (this.next + 1) % n;
    const only = options.address;
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
    if (only !== undefined) {
      return Promise.reject(
        poolUnavailable(
          'db_proxy_server',
          conns.filter((c) => c.address === only),
        ),
      );
    }
    return Promise.reject(poolUnavailable('db_proxy_server', conns));
  }

  /** Per-connection status, for metrics. */
  status(): PoolMember[] {
    return this.connections.map(memberOf);
  }

  /** Closes every connection (in-flight requests fail with CONN_CLOSED). Idempotent. */
  close(): Promise<void> {
    this.closing ??= Promise.allSettled(this.connections.map((c) => c.close())).then(() => {});
    return this.closing;
  }

  private connectionDrained(): void {
    if (this.needDrain && this.canRequest) {
      this.needDrain = false;
      this.emit('drain');
    }
  }
}
