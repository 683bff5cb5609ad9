/**
 * What every pool of TeamTalk connections does, whatever it sends: opens its member connections,
 * reports their status and errors, waits until it is ready, and closes them all. Subclasses decide
 * how many connections go to each server, which member takes a request, when the pool is ready, and
 * what a connection's 'drain' or unsolicited frame means.
 *
 * Invariants: `connections` is fixed at construction (a member reconnects by itself, it is never
 * replaced); every waitReady() caller is re-checked after each status change and each
 * {@link PoolBase.readinessChanged} call, so a subclass that changes `ready` outside a status change
 * must call it.
 */
import { EventEmitter } from 'node:events';
import { TeamTalkConnection, type ConnectionStatus } from './connection.ts';
import { commandName } from './commands.ts';
import type { ConnectionError } from './errors.ts';
import type { Frame } from './frame.ts';
import { debugEnabled, silentLogger, type Logger } from './logger.ts';
import { systemTimers, type Timers } from './timers.ts';
import {
  checkAddresses,
  memberOf,
  poolUnavailable,
  type PoolConnectionOptions,
  type PoolMember,
  type ServerAddress,
} from './pool-members.ts';

/** The events every pool emits. */
export interface PoolEvents {
  /** A connection changed status. */
  status: [member: PoolMember, prev: ConnectionStatus];
  /** A pool that could not take more (see the subclass) can again. */
  drain: [];
  /** Emitted only when someone listens; connections log their errors themselves. */
  error: [err: Error, member: PoolMember];
}

export interface PoolBaseOptions extends PoolConnectionOptions {
  readonly addresses: readonly ServerAddress[];
}

/** The server kind a pool connects to, as named in errors and logs. */
export type PoolServerKind = 'db_proxy_server' | 'route_server';

export abstract class PoolBase<E extends PoolEvents & Record<keyof E, unknown[]>> extends EventEmitter<E> {
  readonly connections: readonly TeamTalkConnection[];
  protected readonly timers: Timers;
  protected readonly logger: Logger;
  private readonly readyWaiters = new Set<() => void>();
  private closing: Promise<void> | undefined;

  /** `names(address)`: the names of the connections opened to that server, one connection each. */
  protected constructor(
    protected readonly server: PoolServerKind,
    options: PoolBaseOptions,
    names: (address: ServerAddress) => readonly string[],
  ) {
    super();
    const { addresses, ...connectionOptions } = options;
    checkAddresses(addresses, server === 'db_proxy_server' ? 'DbProxyPool' : 'RoutePool');
    this.timers = options.timers ?? systemTimers;
    this.logger = options.logger ?? silentLogger;
    this.connections = addresses.flatMap((address) =>
      names(address).map((name) => this.member(address, name, connectionOptions)),
    );
  }

  /** Whether the pool can send now. */
  abstract get ready(): boolean;

  /** Resolves when the pool is ready; rejects with POOL_UNAVAILABLE after `timeoutMs`. */
  waitReady(timeoutMs: number): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!this.ready) return;
        this.timers.clearTimeout(timer);
        this.readyWaiters.delete(check);
        resolve();
      };
      const timer = this.timers.setTimeout(() => {
        this.readyWaiters.delete(check);
        reject(this.unavailable());
      }, timeoutMs);
      this.readyWaiters.add(check);
    });
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

  protected get closed(): boolean {
    return this.closing !== undefined;
  }

  /** POOL_UNAVAILABLE naming the state of `connections` (default: every member). */
  protected unavailable(connections: readonly TeamTalkConnection[] = this.connections): ConnectionError {
    return poolUnavailable(this.server, connections);
  }

  /** Re-checks every waitReady() caller: call after `ready` may have changed outside a status change. */
  protected readinessChanged(): void {
    for (const check of [...this.readyWaiters]) check();
  }

  /** A member connected (before its 'ready'). */
  protected connected(_connection: TeamTalkConnection): void {}

  /** A member changed status ('status' is already emitted). */
  protected statusChanged(_connection: TeamTalkConnection, _next: ConnectionStatus): void {}

  /** A member has room again (its request window or its write buffer). */
  protected abstract drained(connection: TeamTalkConnection): void;

  /** A member received a frame that answers none of its requests (it is logged at debug already). */
  protected unsolicited(_frame: Frame, _connection: TeamTalkConnection): void {}

  /** The events every pool emits, typed once here: `E` extends them. */
  protected get events(): EventEmitter<PoolEvents> {
    return this as unknown as EventEmitter<PoolEvents>;
  }

  private member(address: ServerAddress, name: string, options: PoolConnectionOptions): TeamTalkConnection {
    const connection = new TeamTalkConnection({
      ...options,
      host: address.host,
      port: address.port,
      name,
      onConnect: (c) => this.connected(c),
    });
    connection.on('status', (next, prev) => {
      this.events.emit('status', memberOf(connection), prev);
      this.statusChanged(connection, next);
      this.readinessChanged();
    });
    connection.on('drain', () => this.drained(connection));
    connection.on('error', (err) => {
      if (this.events.listenerCount('error') > 0) this.events.emit('error', err, memberOf(connection));
    });
    connection.on('frame', (frame) => {
      // Route servers relay every peer's traffic here: no log object per frame unless debug lines are written.
      if (debugEnabled(this.logger)) {
        this.logger.debug(
          { conn: connection.name, command: commandName(frame.commandId), seq: frame.seqNum },
          `a frame ${this.server} sent unasked`,
        );
      }
      this.unsolicited(frame, connection);
    });
    return connection;
  }
}
