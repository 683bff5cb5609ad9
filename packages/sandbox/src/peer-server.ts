/**
 * What the three sandbox servers share: listening (and restarting on the same port), the
 * connection table, the 1 s connection check (heartbeat when idle, close when silent), and the
 * fault switches tests flip.
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { CommandId, DEFAULT_MAX_PDU_LENGTH, commandName, encodePdu, type Frame } from '@ttpush/pdu';
import type { Logger, TimerHandle, Timers } from '@ttpush/pdu';
import { PeerConnection, type ConnectionHost } from './peer-connection.ts';
import type { SandboxTiming } from './timing.ts';

export interface ServerFault {
  /** Read requests and never answer them (or relay nothing, for route_server). */
  noReply?: boolean;
  /** Hold every answer (relay, push) this long before it is handled. */
  delayMs?: number;
}

export interface StopReceiveOptions {
  /** Stop the server this long after the packets went out (the real db_proxy exits ~4 s after SIGTERM). */
  stopAfterMs?: number;
}

export interface PeerServerOptions {
  host: string;
  port: number;
  timers: Timers;
  logger: Logger;
  timing: SandboxTiming;
  /** Largest PDU accepted; a longer length field is a framing fault. */
  maxPduLength?: number;
}

/** Events every server emits; each server's own map extends it. */
export interface PeerServerEvents {
  /** A connection was accepted (its id). */
  connection: [connectionId: number];
  disconnect: [connectionId: number];
}

const HEARTBEAT_PDU = encodePdu(CommandId.OTHER_HEARTBEAT, {});

export abstract class PeerServer<
  C extends PeerConnection = PeerConnection,
  E extends PeerServerEvents & Record<keyof E, unknown[]> = PeerServerEvents,
> extends EventEmitter<E> {
  readonly host: string;
  protected readonly timers: Timers;
  protected readonly logger: Logger;
  protected readonly timing: SandboxTiming;
  protected readonly maxPduLength: number;
  /** Connections closed for a framing fault (a length under 16 or over the maximum). */
  framingFaults = 0;
  protected fault: Required<ServerFault> = { noReply: false, delayMs: 0 };
  protected readonly conns = new Map<number, C>();
  /** Whether idle connections get IMHeartBeat from this server (db_proxy and route do, msg_server does not). */
  protected sendsHeartbeats = true;
  private server: Server | undefined;
  private boundPort: number;
  private nextConnId = 1;
  private refusing = false;
  private checkTimer: TimerHandle | undefined;
  private stopTimer: TimerHandle | undefined;
  private readonly connectionHost: ConnectionHost;

  protected constructor(
    readonly name: string,
    opts: PeerServerOptions,
  ) {
    super();
    this.host = opts.host;
    this.boundPort = opts.port;
    this.timers = opts.timers;
    this.logger = opts.logger;
    this.timing = opts.timing;
    this.maxPduLength = opts.maxPduLength ?? DEFAULT_MAX_PDU_LENGTH;
    this.connectionHost = {
      timers: this.timers,
      onFrame: (conn, frame) => this.handleFrame(conn as C, frame),
      onFramingFault: (conn, err) => {
        this.framingFaults++;
        this.logger.warn({ server: this.name, conn: conn.id, remote: conn.remote, err }, 'framing fault: closing');
      },
      onClosed: (conn) => this.connectionClosed(conn as C),
      onHandlerError: (conn, frame, err) => {
        this.logger.error(
          { server: this.name, conn: conn.id, command: commandName(frame.commandId), err },
          'handler failed',
        );
      },
    };
  }

  /** The port it listens on (the one picked by the OS when 0 was asked, kept across restarts). */
  get port(): number {
    return this.boundPort;
  }

  get listening(): boolean {
    return this.server !== undefined;
  }

  /** Open connections. */
  get connections(): number {
    return this.conns.size;
  }

  /** Starts listening, on the same port as before after a `stop()`. */
  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.host, port: this.boundPort }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.logger.error({ server: this.name, err }, 'server error'));
    const addr = server.address();
    if (addr && typeof addr === 'object') this.boundPort = addr.port;
    this.server = server;
    this.checkTimer = this.timers.setInterval(() => this.checkConnections(), this.timing.checkIntervalMs);
    this.logger.info({ server: this.name, host: this.host, port: this.boundPort }, 'listening');
  }

  /** Stops listening and closes every connection. `start()` listens again on the same port. */
  async stop(): Promise<void> {
    if (this.stopTimer !== undefined) {
      this.timers.clearTimeout(this.stopTimer);
      this.stopTimer = undefined;
    }
    if (this.checkTimer !== undefined) {
      this.timers.clearInterval(this.checkTimer);
      this.checkTimer = undefined;
    }
    const server = this.server;
    this.server = undefined;
    this.closeAllConnections();
    this.onStop();
    if (server) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      this.logger.info({ server: this.name, port: this.boundPort }, 'stopped');
    }
  }

  /** Replaces the current fault switches; `setFault({})` clears them. */
  setFault(fault: ServerFault): void {
    this.fault = { noReply: fault.noReply ?? false, delayMs: fault.delayMs ?? 0 };
    this.logger.info({ server: this.name, fault: this.fault }, 'fault set');
  }

  /** Closes every open connection (the listener stays up). */
  closeAllConnections(): void {
    for (const conn of [...this.conns.values()]) conn.destroy();
  }

  /** While on, every new connection is accepted and closed at once. */
  refuseConnections(on: boolean): void {
    this.refusing = on;
  }

  /**
   * OTHER_STOP_RECV_PACKET to every connection, as on SIGTERM (notes §6); answers to requests
   * already received still go out. With `stopAfterMs`, the server stops that much later and the
   * promise resolves then.
   */
  sendStopReceivePacket(opts: StopReceiveOptions = {}): Promise<void> {
    const pdu = encodePdu(CommandId.OTHER_STOP_RECV_PACKET, { result: 0 });
    for (const conn of this.conns.values()) conn.send(pdu);
    this.logger.info({ server: this.name, connections: this.conns.size }, 'sent OTHER_STOP_RECV_PACKET');
    if (opts.stopAfterMs === undefined) return Promise.resolve();
    if (this.stopTimer !== undefined) this.timers.clearTimeout(this.stopTimer);
    return new Promise((resolve) => {
      this.stopTimer = this.timers.setTimeout(() => {
        this.stopTimer = undefined;
        void this.stop().then(resolve);
      }, opts.stopAfterMs ?? 0);
    });
  }

  /** Open connections with their peer address and in-flight numbers. */
  connectionList(): { id: number; remote: string; inFlight: number; maxInFlight: number; requests: number }[] {
    return [...this.conns.values()].map((c) => ({
      id: c.id,
      remote: c.remote,
      inFlight: c.inFlight,
      maxInFlight: c.maxInFlight,
      requests: c.requests,
    }));
  }

  protected abstract handleFrame(conn: C, frame: Frame): void;

  /** Builds the connection object (subclasses add their own per-connection state). */
  protected createConnection(id: number, socket: Socket, host: ConnectionHost): C {
    return new PeerConnection(id, socket, host, this.maxPduLength) as C;
  }

  protected onConnectionClosed(_conn: C): void {}

  protected onStop(): void {}

  /** The 1 s check of one connection; msg_server overrides it with client rules. */
  protected checkConnection(conn: C, now: number): void {
    if (now - conn.lastRecv >= this.timing.idleTimeoutMs) {
      this.logger.info({ server: this.name, conn: conn.id, remote: conn.remote }, 'connection silent: closing');
      conn.destroy();
      return;
    }
    if (this.sendsHeartbeats && now - conn.lastSend >= this.timing.heartbeatMs) {
      conn.send(HEARTBEAT_PDU);
      conn.flush();
    }
  }

  protected ignore(conn: C, frame: Frame, why: string): void {
    this.logger.debug(
      { server: this.name, conn: conn.id, command: commandName(frame.commandId), seq: frame.seqNum },
      why,
    );
  }

  private get baseEvents(): EventEmitter<PeerServerEvents> {
    return this as unknown as EventEmitter<PeerServerEvents>;
  }

  private checkConnections(): void {
    const now = this.timers.now();
    for (const conn of [...this.conns.values()]) this.checkConnection(conn, now);
  }

  private accept(socket: Socket): void {
    if (this.refusing || !this.server) {
      socket.destroy();
      return;
    }
    const conn = this.createConnection(this.nextConnId++, socket, this.connectionHost);
    this.conns.set(conn.id, conn);
    this.logger.debug({ server: this.name, conn: conn.id, remote: conn.remote }, 'connection accepted');
    this.baseEvents.emit('connection', conn.id);
  }

  private connectionClosed(conn: C): void {
    this.conns.delete(conn.id);
    this.logger.debug({ server: this.name, conn: conn.id, remote: conn.remote }, 'connection closed');
    this.onConnectionClosed(conn);
    this.baseEvents.emit('disconnect', conn.id);
  }
}
