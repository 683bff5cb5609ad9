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
import type { ConnectionStatus, TeamTalkConnection } from './connection.ts';
import { CommandId } from './commands.ts';
import type { BodyInput, KnownCommand } from './messages.ts';
import type { Frame } from './frame.ts';
import { PoolBase, type PoolBaseOptions, type PoolEvents } from './pool-base.ts';
import { formatAddress } from './pool-members.ts';
import type { BodyWriter } from './request-batch.ts';

export type RoutePoolOptions = PoolBaseOptions;

export interface RoutePoolEvents extends PoolEvents {
  /** The master changed: its address, or undefined when no route_server is ready. */
  master: [address: string | undefined];
  /** A frame route_server relayed (other peers' traffic), with the address it came from. */
  frame: [frame: Frame, address: string];
  /** A write to the master that answered false can continue. */
  drain: [];
}

export class RoutePool extends PoolBase<RoutePoolEvents> {
  private masterConnection: TeamTalkConnection | undefined;
  /** False until start() has seen every first attempt: no roles are announced before the election. */
  private elected = false;

  constructor(options: RoutePoolOptions) {
    super('route_server', options, (address) => [formatAddress(address)]);
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
    if (this.closed) return;
    this.elected = true;
    this.elect();
    for (const c of this.connections) if (c.status === 'ready') this.announce(c);
    if (!this.masterConnection) throw this.unavailable();
  }

  /**
   * Encodes and writes a PDU to the master. Returns false when its write buffer is full (the PDU
   * is queued; wait for 'drain'); throws POOL_UNAVAILABLE when there is no master.
   */
  forward<C extends KnownCommand>(commandId: C, body: BodyInput<C>): boolean {
    return this.requireMaster().send(commandId, body);
  }

  /** Writes the PDUs tags[from..to) of `commandId`, bodies written by `bodies`, to the master in one buffer; see {@link forward}. */
  forwardBatch(
    commandId: KnownCommand,
    bodies: BodyWriter,
    tags: ArrayLike<number>,
    from: number,
    to: number,
  ): boolean {
    return this.requireMaster().sendBatch(commandId, bodies, tags, from, to);
  }

  /** Writes an encoded PDU to the master; see {@link forward}. */
  forwardRaw(pdu: Buffer): boolean {
    return this.requireMaster().sendRaw(pdu);
  }

  protected override connected(connection: TeamTalkConnection): void {
    if (!this.elected) return;
    if (!this.masterConnection) this.setMaster(connection);
    this.announce(connection);
  }

  protected override statusChanged(connection: TeamTalkConnection, next: ConnectionStatus): void {
    if (connection !== this.masterConnection || next === 'ready') return;
    this.elect();
    if (this.masterConnection) this.announce(this.masterConnection);
  }

  protected drained(connection: TeamTalkConnection): void {
    if (connection === this.masterConnection) this.emit('drain');
  }

  protected override unsolicited(frame: Frame, connection: TeamTalkConnection): void {
    this.emit('frame', frame, connection.name);
  }

  private requireMaster(): TeamTalkConnection {
    const master = this.masterConnection;
    if (!master) throw this.unavailable();
    return master;
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
    this.readinessChanged();
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
