/**
 * The raw TeamTalk peer of the tests, both sides, on pdu's framing (FrameSocket): RawClient connects to
 * a server and waits (bounded) for the frames a test expects; FakeTeamTalkServer listens on 127.0.0.1,
 * records what it receives and answers through a per-test handler. Neither reconnects nor correlates.
 *
 * FakeTeamTalkServer's fault switches: drop or hold replies (then release them shuffled), send
 * OTHER_STOP_RECV_PACKET, send raw bytes, drop every connection, stop and restart on the same port.
 */
import { EventEmitter } from 'node:events';
import { createHash } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import {
  CommandId,
  FrameSocket,
  decodeBody,
  encodePdu,
  im,
  type BodyInput,
  type BodyOf,
  type Frame,
  type FrameMatch,
  type KnownCommand,
} from '@ttpush/pdu';
import { pduVector } from './vectors.ts';

const any: FrameMatch = () => true;

export interface LoginOptions {
  /** Sent as its MD5 hex, as stock clients do. Default '123456'. */
  readonly password?: string;
  readonly clientType?: im.ClientType;
  readonly seqNum?: number;
}

/** A bare client: sends PDUs, keeps every frame received, and waits (bounded) for the ones expected. */
export class RawClient {
  private constructor(
    private readonly frames: FrameSocket,
    /** Every frame received, taken by next() or not, in arrival order. */
    readonly received: Frame[],
  ) {}

  /** Connects; rejects with the socket's error (its `code`, e.g. ECONNREFUSED). */
  static async connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    const received: Frame[] = [];
    const frames = await FrameSocket.connect(host, port, undefined, { onFrame: (f) => received.push(f) });
    return new RawClient(frames, received);
  }

  get socket(): Socket {
    return this.frames.socket;
  }

  /** Whether the connection ended (closed by either side, or a framing fault). */
  get closed(): boolean {
    return this.frames.closed;
  }

  send<C extends KnownCommand>(commandId: C, body: BodyInput<C>, seqNum = 0): void {
    this.frames.write(encodePdu(commandId, body, seqNum));
  }

  /** Writes bytes as they are (hostile input, several PDUs at once). */
  sendRaw(bytes: Uint8Array): void {
    this.frames.write(bytes);
  }

  /** The first frame not taken yet (received or to come) that matches, taken; rejects after `timeoutMs`. */
  next(match: FrameMatch = any, timeoutMs = 2000): Promise<Frame> {
    return this.frames.next(match, timeoutMs, () => new Error(`no matching frame within ${timeoutMs} ms`));
  }

  /** The next frame of a command, decoded. */
  async nextBody<C extends KnownCommand>(
    commandId: C,
    timeoutMs = 2000,
    match: FrameMatch = any,
  ): Promise<{ frame: Frame; body: BodyOf<C> }> {
    const frame = await this.next((f) => f.commandId === commandId && match(f), timeoutMs);
    return { frame, body: decodeBody(commandId, frame.body) };
  }

  /** `count` matching frames, in arrival order. */
  async collect(count: number, match: FrameMatch = any, timeoutMs = 5000): Promise<Frame[]> {
    const deadline = Date.now() + timeoutMs;
    const out: Frame[] = [];
    while (out.length < count) out.push(await this.next(match, Math.max(1, deadline - Date.now())));
    return out;
  }

  /** Resolves true if a matching frame arrives within `ms`, false otherwise (the frame stays to be taken). */
  async receives(match: FrameMatch, ms: number): Promise<boolean> {
    try {
      this.frames.kept.unshift(await this.next(match, ms));
      return true;
    } catch {
      return false;
    }
  }

  /** Resolves when the socket has closed, or rejects after `timeoutMs`. */
  async waitClosed(timeoutMs = 2000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.frames.ended, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Logs in to a msg_server as `userName` and returns its answer. */
  async login(userName: number | string, options: LoginOptions = {}): Promise<im.IMLoginRes> {
    this.send(
      CommandId.LOGIN_REQ_USERLOGIN,
      {
        userName: String(userName),
        password: createHash('md5')
          .update(options.password ?? '123456')
          .digest('hex'),
        onlineStatus: im.UserStatType.USER_STATUS_ONLINE,
        clientType: options.clientType ?? im.ClientType.CLIENT_TYPE_WINDOWS,
        clientVersion: 'ttpush-test',
      },
      options.seqNum ?? 1,
    );
    return (await this.nextBody(CommandId.LOGIN_RES_USERLOGIN)).body;
  }

  close(): Promise<void> {
    return this.frames.close();
  }
}

export type ReplyMode = 'reply' | 'drop' | 'hold';

export type Handler = (frame: Frame, peer: FakePeer, server: FakeTeamTalkServer) => void;

/** One connection accepted by a FakeTeamTalkServer. */
export class FakePeer {
  /** Set by a handler that accepted a login (see {@link msgServerHandler}). */
  loggedIn = false;

  constructor(
    readonly frames: FrameSocket,
    readonly server: FakeTeamTalkServer,
  ) {}

  get socket(): Socket {
    return this.frames.socket;
  }

  get closed(): boolean {
    return this.frames.closed;
  }

  /** Writes bytes now, whatever the reply mode. */
  write(bytes: Buffer): void {
    this.frames.write(bytes);
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

/** Answers every IMLoginReq like msg_server, with `loginReply` (default: the real login_ok PDU for user 2). */
export function msgServerHandler(loginReply?: Buffer): Handler {
  return (frame, peer) => {
    if (frame.commandId !== CommandId.LOGIN_REQ_USERLOGIN) return;
    peer.loggedIn = true;
    peer.write(loginReply ?? pduVector('login_ok').bytes);
  };
}

export class FakeTeamTalkServer extends EventEmitter {
  handler: Handler;
  mode: ReplyMode = 'reply';
  nextMsgId = 1;
  /** Every frame received, heartbeats excepted, in arrival order. */
  readonly received: Frame[] = [];
  /** Every IMHeartBeat received, in arrival order. */
  readonly heartbeats: Frame[] = [];
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

  /** Listens on 127.0.0.1 (port 0, or a given port to restart on); answers like db_proxy_server by default. */
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

  /** The `index`th frame of a command received (0: the first), waited for (bounded). */
  async nthOf(commandId: number, index = 0, timeoutMs = 5000): Promise<Frame> {
    const what = `frame ${index} of 0x${commandId.toString(16).padStart(4, '0')}`;
    await this.waitFor(() => this.framesOf(commandId).length > index, what, timeoutMs);
    return this.framesOf(commandId)[index]!;
  }

  get heldCount(): number {
    return this.held.length;
  }

  respond(peer: FakePeer, bytes: Buffer): void {
    if (this.mode === 'drop') return;
    if (this.mode === 'hold') this.held.push({ peer, bytes });
    else peer.write(bytes);
  }

  /** Writes the held replies, in a shuffled order when given a shuffler, all in one go. */
  releaseHeld(shuffle?: { shuffle<T>(items: T[]): T[] }): void {
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

  /** Writes bytes to every peer (`to` picks some). */
  broadcast(bytes: Buffer, to: (peer: FakePeer) => boolean = () => true): void {
    for (const peer of this.peers) if (to(peer)) peer.write(bytes);
  }

  /** Writes bytes to every peer a handler logged in (msg_server pushing to its clients). */
  push(bytes: Buffer): void {
    this.broadcast(bytes, (peer) => peer.loggedIn);
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
    socket.setNoDelay(true);
    // keep 0: the handler takes every frame; nothing waits in next().
    const frames = new FrameSocket(socket, { keep: 0, onFrame: (frame) => this.take(frame, peer) });
    const peer = new FakePeer(frames, this);
    this.peers.add(peer);
    this.accepted++;
    socket.on('close', () => {
      this.peers.delete(peer);
      this.emit('change');
    });
    this.emit('change');
  }

  private take(frame: Frame, peer: FakePeer): void {
    if (frame.commandId === CommandId.OTHER_HEARTBEAT) this.heartbeats.push(frame);
    else {
      this.received.push(frame);
      if (frame.commandId === CommandId.OTHER_ROLE_SET) {
        this.roleSets.push(decodeBody(CommandId.OTHER_ROLE_SET, frame.body).master);
      }
      this.handler(frame, peer, this);
    }
    this.emit('change');
  }
}
