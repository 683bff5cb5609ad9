/**
 * A fake TeamTalk server speaking the real wire protocol through our own codec, for connection and
 * pool tests: listens on 127.0.0.1 (port 0, or a given port to restart on), records what it
 * receives, and answers through a per-test handler. Fault switches: drop or hold replies (then
 * release them shuffled), send OTHER_STOP_RECV_PACKET, send raw bytes (a length of 0), drop every
 * connection, stop and restart on the same port.
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import {
  CommandId,
  FrameDecoder,
  decodeBody,
  encodePdu,
  type BodyInput,
  type Frame,
  type KnownCommand,
} from '@ttpush/pdu';
import type { Prng } from './prng.ts';

export type ReplyMode = 'reply' | 'drop' | 'hold';

export type Handler = (frame: Frame, peer: FakePeer, server: FakeTeamTalkServer) => void;

export class FakePeer {
  readonly decoder = new FrameDecoder();
  closed = false;

  constructor(
    readonly socket: Socket,
    readonly server: FakeTeamTalkServer,
  ) {}

  /** Writes bytes now, whatever the reply mode. */
  write(bytes: Buffer): void {
    if (!this.closed) this.socket.write(bytes);
  }

  /** Answers `request` (same seq_num), subject to the server's reply mode. */
  reply<C extends KnownCommand>(request: Frame, commandId: C, body: BodyInput<C>): void {
    this.server.respond(this, encodePdu(commandId, body, request.seqNum));
  }
}

/** Answers MSG_DATA like db_proxy_server (same body, a msg_id, attach_data echoed) and the latest-id query. */
export const dbProxyHandler: Handler = (frame, peer, server) => {
  if (frame.commandId === CommandId.MSG_DATA) {
    const req = decodeBody(CommandId.MSG_DATA, frame.body);
    peer.reply(frame, CommandId.MSG_DATA, { ...req, msgId: server.nextMsgId++ });
  } else if (frame.commandId === CommandId.MSG_GET_LATEST_MSG_ID_REQ) {
    const req = decodeBody(CommandId.MSG_GET_LATEST_MSG_ID_REQ, frame.body);
    peer.reply(frame, CommandId.MSG_GET_LATEST_MSG_ID_RSP, { ...req, latestMsgId: server.nextMsgId - 1 });
  }
};

export class FakeTeamTalkServer extends EventEmitter {
  handler: Handler;
  mode: ReplyMode = 'reply';
  nextMsgId = 1;
  /** Every frame received, heartbeats excepted, in arrival order. */
  readonly received: Frame[] = [];
  heartbeats = 0;
  /** `master` of every IMRoleSet received, in order. */
  readonly roleSets: number[] = [];
  readonly peers = new Set<FakePeer>();
  accepted = 0;
  private held: { peer: FakePeer; bytes: Buffer }[] = [];
  private server: Server | undefined;

  private constructor(
    public port: number,
    handler: Handler,
  ) {
    super();
    this.handler = handler;
  }

  static async start(options: { port?: number; handler?: Handler } = {}): Promise<FakeTeamTalkServer> {
    const s = new FakeTeamTalkServer(options.port ?? 0, options.handler ?? dbProxyHandler);
    await s.listen();
    return s;
  }

  get address(): { host: string; port: number } {
    return { host: '127.0.0.1', port: this.port };
  }

  get listening(): boolean {
    return this.server !== undefined;
  }

  /** Received frames of one command. */
  framesOf(commandId: number): Frame[] {
    return this.received.filter((f) => f.commandId === commandId);
  }

  get heldCount(): number {
    return this.held.length;
  }

  respond(peer: FakePeer, bytes: Buffer): void {
    if (this.mode === 'drop') return;
    if (this.mode === 'hold') this.held.push({ peer, bytes });
    else peer.write(bytes);
  }

  /** Writes the held replies, in a shuffled order when given a PRNG, all in one go. */
  releaseHeld(shuffle?: Prng): void {
    const held = shuffle ? shuffle.shuffle(this.held) : this.held;
    this.held = [];
    const byPeer = new Map<FakePeer, Buffer[]>();
    for (const { peer, bytes } of held) {
      const list = byPeer.get(peer);
      if (list) list.push(bytes);
      else byPeer.set(peer, [bytes]);
    }
    for (const [peer, list] of byPeer) peer.write(Buffer.concat(list));
  }

  broadcast(bytes: Buffer): void {
    for (const peer of this.peers) peer.write(bytes);
  }

  /** What db_proxy_server does on SIGTERM (protocol notes §6). */
  stopReceiving(): void {
    this.broadcast(encodePdu(CommandId.OTHER_STOP_RECV_PACKET, { result: 0 }));
  }

  /** Destroys every open connection; keeps listening. */
  dropConnections(): void {
    for (const peer of this.peers) peer.socket.destroy();
  }

  /** Stops listening and destroys every connection; resolves when the port is free. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.held = [];
    this.dropConnections();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await this.waitFor(() => this.peers.size === 0, 'all peers closed');
  }

  /** Listens again on the same port. */
  async restart(): Promise<void> {
    await this.listen();
  }

  /** Resolves when `predicate` holds; checked now and on every frame, connection and close. */
  waitFor(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate()) return;
        clearTimeout(timer);
        this.off('change', check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.off('change', check);
        reject(new Error(`fake server on port ${this.port}: timed out waiting for ${what}`));
      }, timeoutMs);
      this.on('change', check);
    });
  }

  private listen(): Promise<void> {
    const server = createServer((socket) => this.accept(socket));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        server.off('error', reject);
        const addr = server.address();
        if (addr && typeof addr === 'object') this.port = addr.port;
        this.server = server;
        resolve();
      });
    });
  }

  private accept(socket: Socket): void {
    const peer = new FakePeer(socket, this);
    this.peers.add(peer);
    this.accepted++;
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.on('close', () => {
      peer.closed = true;
      this.peers.delete(peer);
      this.emit('change');
    });
    socket.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = peer.decoder.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const frame of frames) {
        // The frame's body is a view into `chunk`: keep a copy so later reads see what arrived.
        const kept: Frame = { ...frame, body: Buffer.from(frame.body) };
        if (kept.commandId === CommandId.OTHER_HEARTBEAT) this.heartbeats++;
        else {
          this.received.push(kept);
          if (kept.commandId === CommandId.OTHER_ROLE_SET) {
            this.roleSets.push(decodeBody(CommandId.OTHER_ROLE_SET, kept.body).master);
          }
          this.handler(kept, peer, this);
        }
      }
      this.emit('change');
    });
    this.emit('change');
  }
}
