/**
 * route_server emulated (notes §7): relays frames between its peers without decoding them,
 * records each peer's IMRoleSet, never answers a MSG_DATA. Only a framing fault closes a connection.
 */
import { CommandId, decodeBody, frameBytes, type Frame } from '@ttpush/pdu';
import { PeerServer, type PeerServerEvents, type PeerServerOptions } from './peer-server.ts';
import { PeerConnection, type ConnectionHost } from './peer-connection.ts';
import { DelayQueue } from './delay-queue.ts';
import type { Socket } from 'node:net';

/** Re-sent to every other connection (notes §7). */
export const ROUTE_TO_OTHERS: ReadonlySet<number> = new Set([
  CommandId.MSG_DATA, // 0x0301
  CommandId.MSG_READ_NOTIFY, // 0x0304
  0x0601, // SWITCH_P2P_CMD
  0x070d, // OTHER_SERVER_KICK_USER
  CommandId.GROUP_CHANGE_MEMBER_NOTIFY, // 0x040b
  0x0508, // FILE_NOTIFY
  0x020f, // BUDDY_LIST_REMOVE_SESSION_NOTIFY
]);

/** Re-sent to every connection, the sender included: BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY. */
export const ROUTE_TO_ALL: ReadonlySet<number> = new Set([0x0215]);

export interface RouteStats {
  /** Frames received, heartbeats excepted. */
  received: number;
  /** Frames accepted for relaying. */
  relayed: number;
  /** Copies written (one frame to three peers is three). */
  delivered: number;
  /** Frames not relayed because of the noReply fault. */
  dropped: number;
  ignored: number;
}

export interface RouteRole {
  connectionId: number;
  remote: string;
  /** IMRoleSet.master: 1 master, 0 slave; undefined when the peer never announced one. */
  master: number | undefined;
}

export interface RouteEvents extends PeerServerEvents {
  /** Every frame received (heartbeats excepted), before it is relayed. */
  frame: [commandId: number, connectionId: number];
}

class RouteConnection extends PeerConnection {
  master: number | undefined;
}

interface Relay {
  from: RouteConnection;
  pdu: Buffer;
  toAll: boolean;
}

export class RouteServer extends PeerServer<RouteConnection, RouteEvents> {
  readonly stats: RouteStats = { received: 0, relayed: 0, delivered: 0, dropped: 0, ignored: 0 };
  private readonly delayed: DelayQueue<Relay>;

  constructor(opts: PeerServerOptions) {
    super('route', opts);
    this.delayed = new DelayQueue(this.timers, (relays) => {
      for (const r of relays) this.deliver(r);
    });
  }

  /** The IMRoleSet each open connection announced. */
  roles(): RouteRole[] {
    return [...this.conns.values()].map((c) => ({ connectionId: c.id, remote: c.remote, master: c.master }));
  }

  protected override createConnection(id: number, socket: Socket, host: ConnectionHost): RouteConnection {
    return new RouteConnection(id, socket, host, this.maxPduLength);
  }

  protected override handleFrame(conn: RouteConnection, frame: Frame): void {
    const cmd = frame.commandId;
    if (cmd === CommandId.OTHER_HEARTBEAT) return;
    this.stats.received++;
    this.emit('frame', cmd, conn.id);
    if (cmd === CommandId.OTHER_ROLE_SET) {
      try {
        conn.master = decodeBody(CommandId.OTHER_ROLE_SET, frame.body).master;
        this.logger.info({ server: this.name, conn: conn.id, remote: conn.remote, master: conn.master }, 'role set');
      } catch {
        this.ignore(conn, frame, 'route: IMRoleSet does not parse, ignored');
      }
      return;
    }
    const toAll = ROUTE_TO_ALL.has(cmd);
    if (!toAll && !ROUTE_TO_OTHERS.has(cmd)) {
      this.stats.ignored++;
      this.ignore(conn, frame, 'route: command not relayed, ignored');
      return;
    }
    if (this.fault.noReply) {
      this.stats.dropped++;
      return;
    }
    this.stats.relayed++;
    const relay: Relay = { from: conn, pdu: frameBytes(frame), toAll };
    if (this.fault.delayMs > 0) this.delayed.add(this.timers.now() + this.fault.delayMs, relay);
    else this.deliver(relay);
  }

  protected override onStop(): void {
    this.delayed.clear();
  }

  private deliver(r: Relay): void {
    for (const c of this.conns.values()) {
      if (c === r.from && !r.toAll) continue;
      c.send(r.pdu);
      this.stats.delivered++;
    }
  }
}
