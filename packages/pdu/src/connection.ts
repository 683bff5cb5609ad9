/**
 * A client connection to one TeamTalk server (db_proxy_server or route_server): framing, request
 * correlation through `attach_data`, heartbeats, dead-peer detection, draining and reconnects.
 * With frame-socket.ts (framing only, for probes and test peers), the only module of this package that
 * touches `node:net`.
 *
 * State machine (every change goes through setStatus(), which logs and emits 'status'):
 *
 *   idle ──connect()──▶ connecting ──socket up──▶ ready ──STOP_RECV_PACKET──▶ draining
 *                          ▲    │                   │                            │
 *                          │    └──attempt failed───┴──socket lost / dead / fault┘
 *                          │                  ▼
 *                          └─ timer ─ reconnecting   (retryStrategy → null: closed)
 *   close() from any state ──▶ closed (final: never reconnects)
 *
 * Two tiers of failure: a framing fault or a lost/dead socket fails every request in flight with
 * CONN_CLOSED and reconnects; a missing or mismatched reply fails only its own request.
 *
 * Window: at most `maxInFlight` requests wait for replies. One more is refused at once with
 * ConnectionError CONN_BUSY (it was not sent, so it is safe to retry or to send elsewhere), and
 * 'drain' is emitted once there is room again, like `stream.write()`. Refusing rather than queueing
 * keeps "in flight" meaning "written to this server", which is what a caller must know when the
 * connection dies.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { CommandId, commandName, serviceOf } from './commands.ts';
import { ConnectionError, ProtocolError, type ConnectionErrorCode } from './errors.ts';
import { FrameDecoder, HEADER_LENGTH, frameAt, writeHeader, writeHeaderOf, type Frame } from './frame.ts';
import {
  bodyTypes,
  decodeBody,
  encodeBody,
  encodePdu,
  isKnownCommand,
  type BodyInput,
  type BodyOf,
  type KnownCommand,
} from './messages.ts';
import { CONNECTION_DEFAULTS, defaultRetryStrategy, type RetryStrategy } from './connection-options.ts';
import { PendingGroup, PendingRequests, failRequest, type PendingRequest } from './connection-pending.ts';
import type { BodyWriter, RequestBatch } from './request-batch.ts';
import { ConnectionWriter } from './connection-writer.ts';
import { Keepalive } from './connection-keepalive.ts';
import { silentLogger, type Logger } from './logger.ts';
import { systemTimers, type TimerHandle, type Timers } from './timers.ts';

export type ConnectionStatus = 'idle' | 'connecting' | 'ready' | 'draining' | 'reconnecting' | 'closed';

export interface TeamTalkConnectionOptions {
  readonly host: string;
  readonly port: number;
  /** For logs and pool status; defaults to `host:port`. */
  readonly name?: string;
  /** A TCP connect that takes longer fails the attempt. Default 5000. */
  readonly connectTimeoutMs?: number;
  /** IMHeartBeat is sent this often while connected. Default 5000 (what the servers do, protocol notes §6). */
  readonly heartbeatIntervalMs?: number;
  /** No byte received for this long: the peer is dead. Default 30000 (what the servers do). */
  readonly deadAfterMs?: number;
  /** A request without a reply in this time fails with REQUEST_TIMEOUT. Default 5000. */
  readonly requestTimeoutMs?: number;
  /** Requests in flight at most; one more is refused with CONN_BUSY. Default 4096. */
  readonly maxInFlight?: number;
  /** Largest PDU accepted from the server, header included. Default DEFAULT_MAX_PDU_LENGTH. */
  readonly maxPduLength?: number;
  /** Bytes buffered for writing above which send() answers false. Default 1 MiB. */
  readonly writeHighWaterMark?: number;
  /** Delay before reconnect attempt n, or null to give up. Default {@link defaultRetryStrategy} (never gives up). */
  readonly retryStrategy?: RetryStrategy;
  /** Default: Node's timers. Tests pass fake ones. */
  readonly timers?: Timers;
  /** Default: silent. */
  readonly logger?: Logger;
  /** Runs each time the socket becomes ready, before 'ready' is emitted (a route pool sends IMRoleSet here). */
  readonly onConnect?: (connection: TeamTalkConnection) => void;
}

export interface RequestOptions<R extends KnownCommand> {
  /** The command the reply must carry (MSG_DATA is answered with MSG_DATA, a *_REQ with its *_RSP). */
  readonly responseCommand: R;
  /** Default: the connection's requestTimeoutMs. */
  readonly timeoutMs?: number;
}

/** Commands whose body has `attach_data` (field 20): the ones a request can be correlated by. */
export type CorrelatedCommand = {
  [C in KnownCommand]: 'attachData' extends keyof BodyInput<C> ? C : never;
}[KnownCommand];

export interface TeamTalkConnectionEvents {
  status: [next: ConnectionStatus, prev: ConnectionStatus];
  ready: [];
  /** A socket closed (each time; the connection may reconnect). The reason, when there was one. */
  close: [reason: Error | undefined];
  /** Emitted only when someone listens; otherwise the error is only logged. */
  error: [err: Error];
  /** A frame that is not a reply to one of our requests, nor a heartbeat or STOP_RECV_PACKET. */
  frame: [frame: Frame];
  /** After a refused or window-filling request, or a send() that answered false: there is room again. */
  drain: [];
  /**
   * A request got no reply in time (it is rejected with REQUEST_TIMEOUT right after). `answeredMeanwhile`: the
   * server answered a later request of this connection first, so it was alive while it left this one unanswered.
   */
  unanswered: [commandId: number, answeredMeanwhile: boolean];
}

const correlated = new Set<number>(
  Object.entries(bodyTypes)
    .filter(([, type]) => 'attachData' in type.prototype)
    .map(([id]) => Number(id)),
);

/** attach_data written by the connection: a 4-byte per-connection prefix and a 4-byte counter. */
const ATTACH_LENGTH = 8;
/** Field 20, wire type 2 (length-delimited): tag varint a2 01, then the length. */
const ATTACH_FIELD = [0xa2, 0x01, ATTACH_LENGTH] as const;
const ATTACH_TRAILER_LENGTH = ATTACH_FIELD.length + ATTACH_LENGTH;

const HEARTBEAT_PDU = encodePdu(CommandId.OTHER_HEARTBEAT, {}, 0);

/** How long close() waits for the server to take queued bytes before it destroys the socket. */
const CLOSE_GRACE_MS = 1000;

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
  settled: boolean;
}

export class TeamTalkConnection extends EventEmitter<TeamTalkConnectionEvents> {
  readonly host: string;
  readonly port: number;
  readonly name: string;
  readonly requestTimeoutMs: number;
  readonly maxInFlight: number;

  private currentStatus: ConnectionStatus = 'idle';
  private socket: Socket | undefined;
  /** Why the current socket is going away (socket error, dead peer, protocol fault). */
  private lastError: Error | undefined;
  private decoder: FrameDecoder;
  private readonly pending: PendingRequests;
  private readonly writer: ConnectionWriter;
  private readonly keepalive: Keepalive;
  private readonly timers: Timers;
  private readonly logger: Logger;
  private readonly retryStrategy: RetryStrategy;
  private readonly connectTimeoutMs: number;
  private readonly onConnectHook: ((connection: TeamTalkConnection) => void) | undefined;
  private connectTimer: TimerHandle | undefined;
  private reconnectTimer: TimerHandle | undefined;
  private attempt = 0;
  private firstConnect: Deferred | undefined;
  private closing: Promise<void> | undefined;
  /** Random per connection, so a reply meant for another connection (or a late one from before a restart) never matches. */
  private readonly attachPrefix: number;
  /** The same as a signed 32-bit integer: compared without a heap number. */
  private readonly attachPrefixInt32: number;
  private nextId = 0;
  /** Where batched PDUs are written: one buffer per group of them. */
  private readonly slab = new Slab();
  /** The frames of the chunk being handled (see received()). */
  private readonly spans: number[] = [];
  /** lastReplyAt was set for the chunk being handled. */
  private stampedChunk = false;
  private nextSeq = 0;
  /** Set once request() was used: from then on, replies are looked up even when nothing is pending. */
  private correlates = false;
  private needDrain = false;
  /** On the injected clock: when a reply to one of our requests last arrived (-Infinity: never). */
  private lastReplyAt = -Infinity;
  /** On the injected clock: when the connection last stopped being ready (or was created). */
  private notReadySince: number;

  constructor(options: TeamTalkConnectionOptions) {
    super();
    this.host = options.host;
    this.port = options.port;
    this.name = options.name ?? `${options.host}:${options.port}`;
    this.requestTimeoutMs = positive(
      'requestTimeoutMs',
      options.requestTimeoutMs,
      CONNECTION_DEFAULTS.requestTimeoutMs,
    );
    this.maxInFlight = positive('maxInFlight', options.maxInFlight, CONNECTION_DEFAULTS.maxInFlight);
    this.connectTimeoutMs = positive(
      'connectTimeoutMs',
      options.connectTimeoutMs,
      CONNECTION_DEFAULTS.connectTimeoutMs,
    );
    const heartbeatIntervalMs = positive(
      'heartbeatIntervalMs',
      options.heartbeatIntervalMs,
      CONNECTION_DEFAULTS.heartbeatIntervalMs,
    );
    const deadAfterMs = positive('deadAfterMs', options.deadAfterMs, CONNECTION_DEFAULTS.deadAfterMs);
    const highWaterMark = positive(
      'writeHighWaterMark',
      options.writeHighWaterMark,
      CONNECTION_DEFAULTS.writeHighWaterMark,
    );
    this.timers = options.timers ?? systemTimers;
    this.logger = options.logger ?? silentLogger;
    this.retryStrategy = options.retryStrategy ?? defaultRetryStrategy;
    this.onConnectHook = options.onConnect;
    this.decoder = new FrameDecoder(options.maxPduLength === undefined ? {} : { maxPduLength: options.maxPduLength });
    this.attachPrefix = randomBytes(4).readUInt32BE(0);
    this.attachPrefixInt32 = this.attachPrefix | 0;
    this.pending = new PendingRequests(this.timers, (request) => this.timedOut(request));
    this.writer = new ConnectionWriter(highWaterMark, () => this.drained());
    this.notReadySince = this.timers.now();
    this.keepalive = new Keepalive({
      timers: this.timers,
      heartbeatIntervalMs,
      deadAfterMs,
      sendHeartbeat: () => this.writer.write(HEARTBEAT_PDU),
      onDead: (idleMs) => this.peerDead(idleMs),
    });
  }

  get status(): ConnectionStatus {
    return this.currentStatus;
  }

  /** Requests written and waiting for a reply. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** How long the connection has not been ready (or draining), on the injected clock; 0 while it is. */
  get notReadyForMs(): number {
    if (this.currentStatus === 'ready' || this.currentStatus === 'draining') return 0;
    return Math.max(0, this.timers.now() - this.notReadySince);
  }

  /** Whether request() would accept a request now. */
  get canRequest(): boolean {
    return this.currentStatus === 'ready' && this.pending.size < this.maxInFlight;
  }

  /** Whether send() would accept bytes now without going over the write high-water mark. */
  get writable(): boolean {
    return this.currentStatus === 'ready' && this.writer.writable;
  }

  /**
   * Starts connecting. Resolves when the connection is ready for the first time; rejects on the
   * first failure, but keeps reconnecting in the background (per retryStrategy) until close().
   * Called again: resolves at once when ready, returns the pending first attempt, or waits for the
   * next 'ready' (rejecting if the connection closes for good first).
   */
  connect(): Promise<void> {
    switch (this.currentStatus) {
      case 'idle': {
        const deferred = createDeferred();
        this.firstConnect = deferred;
        this.open();
        return deferred.promise;
      }
      case 'ready':
      case 'draining':
        return Promise.resolve();
      case 'closed':
        return Promise.reject(this.error('CONN_CLOSED', 'the connection is closed'));
      default:
        if (this.firstConnect && !this.firstConnect.settled) return this.firstConnect.promise;
        return new Promise((resolve, reject) => {
          const onStatus = (next: ConnectionStatus) => {
            if (next === 'ready') resolve();
            else if (next === 'closed') reject(this.error('CONN_CLOSED', 'the connection closed before it was ready'));
            else return;
            this.off('status', onStatus);
          };
          this.on('status', onStatus);
        });
    }
  }

  /**
   * Sends a request and resolves with the decoded reply. The connection writes its own id into
   * `attach_data` (any attach_data in `body` is superseded: a later occurrence of a protobuf field
   * wins) and matches the reply by it, whatever order replies come in.
   *
   * Rejects at once, without sending, with CONN_NOT_READY / CONN_DRAINING / CONN_CLOSED when the
   * connection cannot take requests, and CONN_BUSY when `maxInFlight` requests are in flight. After
   * sending: REQUEST_TIMEOUT (no reply in time: the server drops some requests silently),
   * REQUEST_REPLY_MISMATCH, or CONN_CLOSED when the connection is lost first (the request may or
   * may not have been processed).
   */
  request<C extends CorrelatedCommand, R extends KnownCommand>(
    commandId: C,
    body: BodyInput<C>,
    options: RequestOptions<R>,
  ): Promise<BodyOf<R>> {
    if (this.currentStatus !== 'ready') return Promise.reject(this.notReadyError());
    if (this.pending.size >= this.maxInFlight) {
      this.needDrain = true;
      return Promise.reject(
        this.error('CONN_BUSY', `${this.maxInFlight} requests already in flight (maxInFlight); wait for 'drain'`),
      );
    }
    if (!correlated.has(commandId)) {
      return Promise.reject(new TypeError(`${commandName(commandId)} has no attach_data: it cannot be a request`));
    }
    const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
    let pdu: Buffer;
    let id: number;
    let seqNum: number;
    try {
      id = this.allocateId();
      seqNum = this.allocateSeq();
      pdu = this.buildRequest(commandId, body, seqNum, id);
    } catch (err) {
      return Promise.reject(err);
    }
    this.correlates = true;
    return new Promise<BodyOf<R>>((resolve, reject) => {
      const sentAt = this.timers.now();
      const request: PendingRequest = {
        id,
        commandId,
        responseCommand: options.responseCommand,
        seqNum,
        sentAt,
        deadline: sentAt + timeoutMs,
        timeoutMs,
        resolve: resolve as (body: unknown) => void,
        reject,
        batch: undefined,
        tag: 0,
        done: false,
      };
      this.pending.add(request);
      if (this.pending.size >= this.maxInFlight) this.needDrain = true;
      this.writer.write(pdu);
    });
  }

  /**
   * Sends the requests tags[from..to) of `batch` (their bodies written by the batch, each followed by this
   * connection's attach_data) in one buffer, as many as the window has room for; answers how many, from `from`
   * on. Each one issued gets exactly one outcome through the batch (replied or failed), as a request() would
   * settle its promise. None is issued (0) when the connection is not ready or its window is full (a 'drain'
   * follows, as after CONN_BUSY): those were not sent.
   */
  requestBatch(batch: RequestBatch, tags: ArrayLike<number>, from: number, to: number, timeoutMs?: number): number {
    if (this.currentStatus !== 'ready') return 0;
    if (!correlated.has(batch.commandId)) {
      throw new TypeError(`${commandName(batch.commandId)} has no attach_data: it cannot be a request`);
    }
    const n = Math.min(to - from, this.maxInFlight - this.pending.size);
    if (n <= 0) {
      if (to > from) this.needDrain = true;
      return 0;
    }
    const end = from + n;
    let total = 0;
    for (let k = from; k < end; k++) total += HEADER_LENGTH + batch.bodyLength(tags[k]!) + ATTACH_TRAILER_LENGTH;
    const out = this.slab.take(total);
    const timeout = timeoutMs ?? this.requestTimeoutMs;
    const sentAt = this.timers.now();
    const { commandId, responseCommand } = batch;
    const serviceId = serviceOf(commandId);
    const group = new PendingGroup(batch, commandId, responseCommand, sentAt, sentAt + timeout, timeout, n);
    this.pending.addGroup(group);
    let at = 0;
    for (let k = from; k < end; k++) {
      const tag = tags[k]!;
      const id = this.allocateId();
      const seqNum = this.allocateSeq();
      const bodyLength = batch.bodyLength(tag);
      const length = HEADER_LENGTH + bodyLength + ATTACH_TRAILER_LENGTH;
      writeHeaderOf(out, at, length, serviceId, commandId, seqNum);
      batch.writeBody(tag, out, at + HEADER_LENGTH);
      this.writeAttach(out, at + HEADER_LENGTH + bodyLength, id);
      at += length;
      this.pending.addMember(group, id, tag, seqNum);
    }
    this.correlates = true;
    if (this.pending.size >= this.maxInFlight) this.needDrain = true;
    this.writer.write(out);
    return n;
  }

  /**
   * Fire-and-forget: the PDUs tags[from..to) of `commandId`, their bodies written by `bodies`, in one buffer.
   * Returns and throws as send() does.
   */
  sendBatch(commandId: KnownCommand, bodies: BodyWriter, tags: ArrayLike<number>, from: number, to: number): boolean {
    this.assertWritable();
    let total = 0;
    for (let k = from; k < to; k++) total += HEADER_LENGTH + bodies.bodyLength(tags[k]!);
    const out = this.slab.take(total);
    const serviceId = serviceOf(commandId);
    let at = 0;
    for (let k = from; k < to; k++) {
      const tag = tags[k]!;
      const length = HEADER_LENGTH + bodies.bodyLength(tag);
      writeHeaderOf(out, at, length, serviceId, commandId, this.allocateSeq());
      bodies.writeBody(tag, out, at + HEADER_LENGTH);
      at += length;
    }
    return this.write(out);
  }

  /**
   * Fire-and-forget: encodes and writes a PDU (used to forward to route_server). Returns false when
   * the write buffer is over its high-water mark (the PDU is queued all the same; wait for 'drain').
   * Throws CONN_NOT_READY / CONN_DRAINING / CONN_CLOSED when it cannot be written.
   */
  send<C extends KnownCommand>(commandId: C, body: BodyInput<C>): boolean {
    this.assertWritable();
    return this.write(encodePdu(commandId, body, this.allocateSeq()));
  }

  /** Fire-and-forget write of a whole encoded PDU; see {@link send}. */
  sendRaw(pdu: Buffer): boolean {
    this.assertWritable();
    return this.write(pdu);
  }

  /**
   * Closes for good: fails everything in flight with CONN_CLOSED, hands queued writes to the
   * socket, ends it, and never reconnects. Idempotent.
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    const prev = this.currentStatus;
    this.setStatus('closed', 'close() called');
    this.clearTimers();
    this.keepalive.stop();
    this.pending.failAll(this.error('CONN_CLOSED', 'the connection was closed by its owner'));
    this.settleFirstConnect(this.error('CONN_CLOSED', 'the connection was closed before it was ready'));
    const socket = this.socket;
    this.socket = undefined;
    if (!socket) {
      this.closing = Promise.resolve();
      return this.closing;
    }
    this.closing = new Promise<void>((resolve) => {
      const grace = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
      socket.once('close', () => {
        clearTimeout(grace);
        this.emit('close', undefined);
        resolve();
      });
      if (prev === 'ready' || prev === 'draining') {
        this.writer.flushAll();
        this.writer.detach();
        socket.end();
      } else {
        this.writer.detach();
        socket.destroy();
      }
    });
    return this.closing;
  }

  private open(): void {
    this.setStatus('connecting', this.attempt > 0 ? `attempt ${this.attempt}` : undefined);
    this.lastError = undefined;
    this.decoder.reset();
    const socket = netConnect({ host: this.host, port: this.port });
    this.socket = socket;
    socket.setNoDelay(true);
    this.connectTimer = this.timers.setTimeout(() => {
      this.connectTimer = undefined;
      this.fault(socket, this.error('CONN_TIMEOUT', `no TCP connection within ${this.connectTimeoutMs} ms`));
    }, this.connectTimeoutMs);
    socket.once('connect', () => this.connected(socket));
    socket.on('data', (chunk: Buffer) => this.received(socket, chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (socket !== this.socket) return;
      this.lastError = this.error(socketErrorCode(err), `socket error: ${err.message}`, err);
      // A failed connect attempt is reported by connect() and a warning; a break of a live connection is an error.
      if (this.currentStatus !== 'connecting') this.emitError(this.lastError);
    });
    socket.on('close', () => this.lost(socket, this.lastError));
  }

  private connected(socket: Socket): void {
    if (socket !== this.socket) return;
    this.clearConnectTimer();
    this.attempt = 0;
    this.writer.attach(socket);
    this.keepalive.start();
    this.setStatus('ready');
    if (this.onConnectHook) {
      try {
        this.onConnectHook(this);
      } catch (err) {
        this.logger.error({ conn: this.name, err }, 'onConnect hook threw');
      }
    }
    if (socket !== this.socket) return;
    this.emit('ready');
    this.settleFirstConnect();
  }

  private received(socket: Socket, chunk: Buffer): void {
    if (socket !== this.socket) return;
    this.keepalive.touch();
    // Reused: a chunk's frames are all handled before the next chunk can arrive.
    const spans = this.spans;
    this.stampedChunk = false;
    let n: number;
    try {
      n = this.decoder.pushSpans(chunk, spans);
    } catch (err) {
      this.fault(socket, err as ProtocolError);
      return;
    }
    const buf = this.decoder.spanBuffer!;
    for (let k = 0; k < n; k++) {
      const at = spans[2 * k]!;
      const length = spans[2 * k + 1]!;
      // A batched request's reply is read where it lies; anything else becomes a Frame.
      if (!this.settledInPlace(buf, at, length)) this.dispatch(frameAt(buf, at, length));
      // A listener may have closed the connection, or a reply may have revealed a fault.
      if (socket !== this.socket) return;
    }
  }

  private dispatch(frame: Frame): void {
    const { commandId } = frame;
    if (commandId === CommandId.OTHER_HEARTBEAT) return;
    if (commandId === CommandId.OTHER_STOP_RECV_PACKET) {
      this.logger.warn({ conn: this.name, inFlight: this.pending.size }, 'server asked us to stop sending (draining)');
      if (this.currentStatus === 'ready') this.setStatus('draining', 'OTHER_STOP_RECV_PACKET');
      return;
    }
    if (!isKnownCommand(commandId)) {
      this.logger.debug({ conn: this.name, command: commandName(commandId) }, 'frame of a command we do not decode');
      this.emit('frame', frame);
      return;
    }
    if (this.correlates && correlated.has(commandId) && this.settleDecoded(frame, commandId)) return;
    this.emit('frame', frame);
  }

  /**
   * The reply to a batched request, found by its attach_data without decoding the body (the frame is
   * buf[at..at + length)) and read by its batch: true once settled (or dropped as unreadable). False for anything
   * else, which dispatch() then handles as a Frame.
   */
  private settledInPlace(buf: Buffer, at: number, length: number): boolean {
    if (!this.correlates) return false;
    const commandId = (buf[at + 10]! << 8) | buf[at + 11]!;
    if (!correlated.has(commandId)) return false;
    const start = at + HEADER_LENGTH;
    const end = at + length;
    const attach = attachOffset(buf, start, end);
    if (attach < 0 || buf.readInt32BE(attach) !== this.attachPrefixInt32) return false;
    const group = this.pending.group(readUInt32(buf, attach + 4));
    if (group === undefined || commandId !== group.responseCommand) return false;
    const member = this.pending.member;
    const tag = group.tag(member);
    if (!group.batch.read(tag, buf, start, end)) {
      return this.unparsed(commandId as KnownCommand, (buf[at + 12]! << 8) | buf[at + 13]!, undefined);
    }
    this.pending.settleMember(group, member);
    // Once per chunk: its replies all arrived together.
    if (!this.stampedChunk) {
      this.lastReplyAt = this.timers.now();
      this.stampedChunk = true;
    }
    group.batch.replied(tag);
    this.windowOpened();
    return true;
  }

  private unparsed(commandId: KnownCommand, seq: number, err: unknown): true {
    this.logger.warn(
      { conn: this.name, command: commandName(commandId), seq, ...(err === undefined ? {} : { err }) },
      'dropped a reply whose body does not parse (its request will time out)',
    );
    return true;
  }

  /**
   * Settles the request a reply answers, decoding the reply in full first (every request()'s, and any batched one
   * settledInPlace() could not take); false when the frame carries none of our ids.
   */
  private settleDecoded(frame: Frame, commandId: KnownCommand): boolean {
    let body: { attachData?: Uint8Array | null };
    try {
      body = decodeBody(commandId, frame.body) as { attachData?: Uint8Array | null };
    } catch (err) {
      return this.unparsed(commandId, frame.seqNum, err);
    }
    const attach = body.attachData;
    if (!attach || attach.length !== ATTACH_LENGTH || readUInt32(attach, 0) !== this.attachPrefix) return false;
    const id = readUInt32(attach, 4);
    const found = this.pending.get(id);
    // A batch reads its reply before the request is taken: one that does not parse leaves it to time out.
    const bytes = frame.body;
    if (
      found?.batch !== undefined &&
      commandId === found.responseCommand &&
      !found.batch.read(found.tag, bytes, 0, bytes.length)
    ) {
      return this.unparsed(commandId, frame.seqNum, undefined);
    }
    const request = this.pending.take(id);
    if (request) this.lastReplyAt = this.timers.now();
    if (!request) {
      this.logger.warn(
        { conn: this.name, command: commandName(commandId), seq: frame.seqNum, id },
        'reply matches no request in flight (late after a timeout?): dropped',
      );
      return true;
    }
    if (commandId !== request.responseCommand) {
      this.logger.warn(
        {
          conn: this.name,
          command: commandName(commandId),
          expected: commandName(request.responseCommand),
          seq: frame.seqNum,
        },
        'reply command does not match the request',
      );
      failRequest(
        request,
        this.error(
          'REQUEST_REPLY_MISMATCH',
          `${commandName(request.commandId)} was answered with ${commandName(commandId)}, expected ${commandName(request.responseCommand)}`,
        ),
      );
    } else if (request.batch !== undefined) {
      request.batch.replied(request.tag);
    } else {
      request.resolve!(body);
    }
    this.windowOpened();
    return true;
  }

  private timedOut(request: PendingRequest): void {
    // Replies still arriving half a timeout after this request left: the server was reading and answering this
    // connection while it kept silent about this one. (A server that stalls answers nothing from the stall on, so
    // requests written just before a stall do not count: their last replies came before that half-way point.)
    const answeredMeanwhile = this.lastReplyAt >= request.sentAt + request.timeoutMs / 2;
    this.emit('unanswered', request.commandId, answeredMeanwhile);
    failRequest(
      request,
      new ConnectionError(
        'REQUEST_TIMEOUT',
        `${this.name}: no reply to ${commandName(request.commandId)} (seq ${request.seqNum}) within ${request.timeoutMs} ms`,
        { address: this.address, answeredMeanwhile },
      ),
    );
    this.windowOpened();
  }

  /** The server's `host:port`. */
  get address(): string {
    return `${this.host}:${this.port}`;
  }

  private windowOpened(): void {
    if (this.needDrain && this.canRequest) {
      this.needDrain = false;
      this.emit('drain');
    }
  }

  private drained(): void {
    if (this.currentStatus === 'ready') this.emit('drain');
  }

  private peerDead(idleMs: number): void {
    const socket = this.socket;
    if (!socket) return;
    this.logger.warn({ conn: this.name, idleMs }, 'no bytes from the server: declaring it dead');
    this.fault(socket, this.error('CONN_TIMEOUT', `nothing received for ${Math.round(idleMs)} ms: the server is dead`));
  }

  /** Framing fault, dead peer, connect timeout: this socket cannot be trusted any more. */
  private fault(socket: Socket, err: Error): void {
    if (socket !== this.socket) return;
    if (this.currentStatus !== 'connecting') this.emitError(err);
    socket.destroy();
    this.lost(socket, err);
  }

  /** The socket is gone (closed, refused, destroyed): fail what it carried, then reconnect or stop. */
  private lost(socket: Socket, reason: Error | undefined): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    const wasConnecting = this.currentStatus === 'connecting';
    this.clearConnectTimer();
    this.keepalive.stop();
    const dropped = this.writer.detach();
    const inFlight = this.pending.size;
    if (inFlight > 0 || dropped > 0) {
      this.logger.warn({ conn: this.name, inFlight, droppedBytes: dropped }, 'connection lost with work in flight');
    }
    this.pending.failAll(
      this.error(
        'CONN_CLOSED',
        `the connection was lost with ${inFlight} requests in flight${reason ? `: ${reason.message}` : ''}`,
        reason,
      ),
    );
    this.emit('close', reason);
    if (wasConnecting) {
      this.logger.warn({ conn: this.name, attempt: this.attempt, err: reason }, 'connect attempt failed');
      this.settleFirstConnect(
        reason instanceof ConnectionError ? reason : this.error('CONN_CLOSED', 'closed while connecting', reason),
      );
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.currentStatus === 'closed') return;
    this.attempt++;
    let delay: number | null;
    try {
      delay = this.retryStrategy(this.attempt);
    } catch (err) {
      this.logger.error({ conn: this.name, err }, 'retryStrategy threw: giving up');
      delay = null;
    }
    if (delay === null || !Number.isFinite(delay)) {
      this.setStatus('closed', `retryStrategy gave up after attempt ${this.attempt}`);
      this.settleFirstConnect(this.error('CONN_CLOSED', 'gave up reconnecting'));
      return;
    }
    this.setStatus('reconnecting', `attempt ${this.attempt} in ${delay} ms`);
    this.reconnectTimer = this.timers.setTimeout(
      () => {
        this.reconnectTimer = undefined;
        if (this.currentStatus === 'reconnecting') this.open();
      },
      Math.max(0, delay),
    );
  }

  private setStatus(next: ConnectionStatus, reason?: string): void {
    const prev = this.currentStatus;
    if (prev === next) return;
    if ((prev === 'ready' || prev === 'draining') && next !== 'ready' && next !== 'draining') {
      this.notReadySince = this.timers.now();
    }
    this.currentStatus = next;
    this.logger.info({ conn: this.name, from: prev, to: next, reason }, `teamtalk connection ${next}`);
    this.emit('status', next, prev);
  }

  private emitError(err: Error): void {
    this.logger.error({ conn: this.name, err }, err.message);
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  private settleFirstConnect(err?: Error): void {
    const deferred = this.firstConnect;
    if (!deferred || deferred.settled) return;
    deferred.settled = true;
    if (err) deferred.reject(err);
    else deferred.resolve();
  }

  private clearConnectTimer(): void {
    if (this.connectTimer !== undefined) this.timers.clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
  }

  private clearTimers(): void {
    this.clearConnectTimer();
    if (this.reconnectTimer !== undefined) this.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }

  private assertWritable(): void {
    if (this.currentStatus !== 'ready') throw this.notReadyError();
  }

  private write(pdu: Buffer): boolean {
    return this.writer.write(pdu);
  }

  private notReadyError(): ConnectionError {
    switch (this.currentStatus) {
      case 'draining':
        return this.error('CONN_DRAINING', 'the server asked us to stop sending (OTHER_STOP_RECV_PACKET)');
      case 'closed':
        return this.error('CONN_CLOSED', 'the connection is closed');
      default:
        return this.error('CONN_NOT_READY', `the connection is ${this.currentStatus}`);
    }
  }

  private error(code: ConnectionErrorCode, message: string, cause?: unknown): ConnectionError {
    return new ConnectionError(code, `${this.name}: ${message}`, {
      address: this.address,
      ...(cause === undefined ? {} : { cause }),
    });
  }

  private allocateId(): number {
    // 2^32 ids per connection: a wrap can only meet a request still in flight if 4 billion were sent meanwhile.
    // An id whose slot of the table is free: never one in flight, and the lookup of its reply is one array read.
    do this.nextId = (this.nextId + 1) >>> 0;
    while (!this.pending.free(this.nextId));
    return this.nextId;
  }

  private allocateSeq(): number {
    this.nextSeq = (this.nextSeq + 1) & 0xffff;
    return this.nextSeq;
  }

  /** Header, body, then our attach_data field appended: one allocation, no copy of the caller's body object. */
  private buildRequest<C extends CorrelatedCommand>(
    commandId: C,
    body: BodyInput<C>,
    seqNum: number,
    id: number,
  ): Buffer {
    const encoded = encodeBody(commandId, body);
    const length = HEADER_LENGTH + encoded.length + ATTACH_TRAILER_LENGTH;
    const pdu = Buffer.allocUnsafe(length);
    writeHeader(pdu, 0, length, { commandId, seqNum });
    pdu.set(encoded, HEADER_LENGTH);
    this.writeAttach(pdu, HEADER_LENGTH + encoded.length, id);
    return pdu;
  }

  /** Our attach_data field for request `id` at `at`: ATTACH_TRAILER_LENGTH bytes. */
  private writeAttach(out: Buffer, at: number, id: number): void {
    out[at] = ATTACH_FIELD[0];
    out[at + 1] = ATTACH_FIELD[1];
    out[at + 2] = ATTACH_FIELD[2];
    out.writeUInt32BE(this.attachPrefix, at + 3);
    out.writeUInt32BE(id, at + 7);
  }
}

/** Bytes of one slab: a group of a few hundred PDUs fits many times. */
const SLAB_BYTES = 256 * 1024;

/**
 * Buffers for batched PDUs, cut from slabs rather than allocated each: a group of requests takes a few kB, more
 * than Buffer's own pool serves, and each would be an ArrayBuffer of its own to allocate and later collect. A piece
 * is never reused: a slab is freed when the last of its pieces is.
 */
class Slab {
  private slab: Buffer | undefined;
  private used = 0;

  take(length: number): Buffer {
    if (length > SLAB_BYTES >> 2) return Buffer.allocUnsafe(length);
    if (this.slab === undefined || this.used + length > SLAB_BYTES) {
      this.slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
      this.used = 0;
    }
    const piece = this.slab.subarray(this.used, this.used + length);
    this.used += length;
    return piece;
  }
}

function createDeferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // The first attempt's failure is also reported through 'error' and logs; an unawaited connect() must not crash.
  promise.catch(() => {});
  return { promise, resolve, reject, settled: false };
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${name} must be a positive number, got ${value}`);
  return v;
}

function socketErrorCode(err: NodeJS.ErrnoException): ConnectionErrorCode {
  if (err.code === 'ECONNREFUSED') return 'CONN_REFUSED';
  if (err.code === 'ETIMEDOUT') return 'CONN_TIMEOUT';
  return 'CONN_CLOSED';
}

/**
 * Where the 8 bytes of the attach_data of the body body[start..end) (field 20, length-delimited; the last one, as a
 * decoder keeps it) start in `body`, read without decoding it; -1 when its attach_data is not 8 bytes long, it has
 * none, or its fields cannot be walked (then it is decoded in full, and that decides).
 */
export function attachOffset(body: Uint8Array, start = 0, end = body.length): number {
  let found = -1;
  let at = start;
  while (at < end) {
    let tag = 0;
    let shift = 0;
    let b: number;
    do {
      if (at >= end || shift > 28) return -1;
      b = body[at++]!;
      tag |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    switch (tag & 7) {
      case 0: {
        let n = 0;
        do {
          if (at >= end || n++ >= 10) return -1;
          b = body[at++]!;
        } while (b & 0x80);
        break;
      }
      case 1:
        at += 8;
        break;
      case 2: {
        let length = 0;
        shift = 0;
        do {
          if (at >= end || shift > 28) return -1;
          b = body[at++]!;
          length |= (b & 0x7f) << shift;
          shift += 7;
        } while (b & 0x80);
        length >>>= 0;
        if (tag >>> 3 === 20) found = length === ATTACH_LENGTH ? at : -1;
        at += length;
        break;
      }
      case 5:
        at += 4;
        break;
      default:
        return -1;
    }
  }
  return at === end ? found : -1;
}

function readUInt32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}
