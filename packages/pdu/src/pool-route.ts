/**
 * One connection to each route_server; forwarded messages go to a single master.
 *
 * Election: start() waits for every first connection attempt, then makes the first ready server in
 * configured order the master. After that the master stays master while it is ready (so a server
 * that comes back does not take the role away and make traffic flip); when it stops being ready
 * (lost, draining, closed) the first ready one in configured order takes over. Each connection
 * announces IMRoleSet{master: 1} or {master: 0} once connected, and a connection that becomes master
 * later announces {master: 1} (protocol notes §7).
 *
 * route_server relays every other peer's traffic to us: those frames are ignored with a debug log,
 * and re-emitted as 'frame' for whoever wants them.
 */
import { EventEmitter } from 'node:events';
import { TeamTalkConnection, type ConnectionStatus } from './connection.ts';
import { CommandId, commandName } from './commands.ts';
import type { BodyInput, KnownCommand } from './messages.ts';
import type { Frame } from './frame.ts';
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

export interface RoutePoolOptions extends PoolConnectionOptions {
  readonly addresses: readonly ServerAddress[];
}

export interface RoutePoolEvents {
  /** The master changed: its address, or undefined when no route_server is ready. */
  master: [address: string | undefined];
  status: [member: PoolMember, prev: ConnectionStatus];
  /** A frame route_server relayed (other peers' traffic), with the address it came from. */
  frame: [frame: Frame, address: string];
  /** A write that answered false can continue. */
  drain: [];
  /** Emitted only when someone listens; connections log their errors themselves. */
  error: [err: Error, member: PoolMember];
}

export class RoutePool extends EventEmitter<RoutePoolEvents> {
  readonly connections: readonly TeamTalkConnection[];
  private readonly timers: Timers;
  private readonly logger: Logger;
  private masterConnection: TeamTalkConnection | undefined;
  /** False until start() has seen every first attempt: no roles are announced before the election. */
  private elected = false;
  private closing: Promise<void> | undefined;

  constructor(options: RoutePoolOptions) {
    super();
    const { addresses, ...connectionOptions } = options;
    checkAddresses(addresses, 'RoutePool');
    this.timers = options.timers ?? systemTimers;
    this.logger = options.logger ?? silentLogger;
    this.connections = addresses.map((address) => {
      const connection = new TeamTalkConnection({
        ...connectionOptions,
        host: address.host,
        port: address.port,
        name: formatAddress(address),
        onConnect: (c) => this.connected(c),
      });
      connection.on('status', (next, prev) => this.statusChanged(connection, next, prev));
      connection.on('drain', () => {
        if (connection === this.masterConnection) this.emit('drain');
      });
      connection.on('error', (err) => {
        if (this.listenerCount('error') > 0) this.emit('error', err, memberOf(connection));
      });
      connection.on('frame', (frame) => {
        this.logger.debug(
          { conn: connection.name, command: commandName(frame.commandId), seq: frame.seqNum },
          'ignoring a frame route_server relayed',
        );
        this.emit('frame', frame, connection.name);
      });
      return connection;
    });
  }

  /** The master's address, or undefined when no route_server is ready. */
  get master(): string | undefined {
    return this.masterConnection?.name;
  }

  /** Whether there is a master to forward to. */
  get ready(): boolean {
    return this.masterConnection !== undefined;
  }

  /**
   * Connects every route_server, waits for each first attempt, then elects the master. Rejects with
   * POOL_UNAVAILABLE when none is ready (connections keep retrying; the first to connect becomes master).
   */
  async start(): Promise<void> {
    await Promise.allSettled(this.connections.map((c) => c.connect()));
    if (this.closing) return;
    this.elected = true;
    this.elect();
    for (const c of this.connections) if (c.status === 'ready') this.announce(c);
    if (!this.masterConnection) throw poolUnavailable('route_server', this.connections);
  }

  /** Resolves when there is a master; rejects with POOL_UNAVAILABLE after `timeoutMs`. */
  waitReady(timeoutMs: number): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onMaster = (address: string | undefined) => {
        if (address === undefined) return;
        this.timers.clearTimeout(timer);
        this.off('master', onMaster);
        resolve();
      };
      const timer = this.timers.setTimeout(() => {
        this.off('master', onMaster);
        reject(poolUnavailable('route_server', this.connections));
      }, timeoutMs);
      this.on('master', onMaster);
    });
  }

  /**
   * Encodes and writes a PDU to the master. Returns false when its write buffer is full (the PDU
   * is queued; wait for 'drain'); throws POOL_UNAVAILABLE when there is no master.
   */
  forward<C extends KnownCommand>(commandId: C, body: BodyInput<C>): boolean {
    return this.requireMaster().send(commandId, body);
  }

  /** Writes an encoded PDU to the master; see {@link forward}. */
  forwardRaw(pdu: Buffer): boolean {
    return this.requireMaster().sendRaw(pdu);
  }

  status(): PoolMember[] {
    return this.connections.map(memberOf);
  }

  /** Closes every connection. Idempotent. */
  close(): Promise<void> {
    this.closing ??= Promise.allSettled(this.connections.map((c) => c.close())).then(() => {});
    return this.closing;
  }

  private requireMaster(): TeamTalkConnection {
    const master = this.masterConnection;
    if (!master) throw poolUnavailable('route_server', this.connections);
    return master;
  }

  private connected(connection: TeamTalkConnection): void {
    if (!this.elected) return;
    if (!this.masterConnection) this.setMaster(connection);
    this.announce(connection);
  }

  private statusChanged(connection: TeamTalkConnection, next: ConnectionStatus, prev: ConnectionStatus): void {
    this.emit('status', memberOf(connection), prev);
    if (connection !== this.masterConnection || next === 'ready') return;
    this.elect();
    if (this.masterConnection) this.announce(this.masterConnection);
  }

  /** Keeps a ready master; otherwise takes the first ready connection in configured order. */
  private elect(): void {
    if (this.masterConnection?.status === 'ready') return;
    this.setMaster(this.connections.find((c) => c.status === 'ready'));
  }

  private setMaster(connection: TeamTalkConnection | undefined): void {
    if (connection === this.masterConnection) return;
    const prev = this.masterConnection;
    this.masterConnection = connection;
    this.logger.info({ from: prev?.name, to: connection?.name }, 'route_server master changed');
    this.emit('master', connection?.name);
  }

  private announce(connection: TeamTalkConnection): void {
    const master = connection === this.masterConnection ? 1 : 0;
    try {
      connection.send(CommandId.OTHER_ROLE_SET, { master });
    } catch (err) {
      this.logger.warn({ conn: connection.name, err }, 'could not announce IMRoleSet');
    }
  }
}
