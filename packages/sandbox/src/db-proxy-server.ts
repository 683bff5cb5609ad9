/**
 * db_proxy_server emulated over the real wire protocol (notes §6, §10). Requests are decoded on
 * arrival and handled by an emulated thread pool: everything that arrived in one event-loop turn
 * is handled in a random order (so msg_ids are allocated and replies sent out of order), after an
 * optional random delay per request, or the real server's latency in realistic mode. In thread-pool mode
 * (`threadPool`) a pool of worker threads takes requests at random instead, each for a store time.
 */
import {
  CommandId,
  commandName,
  debugEnabled,
  decodeBody,
  encodeBody,
  im,
  type Frame,
  type KnownCommand,
  type TeamTalkCipher,
} from '@ttpush/pdu';
import { PeerServer, type PeerServerEvents, type PeerServerOptions, type ServerFault } from './peer-server.ts';
import type { PeerConnection } from './peer-connection.ts';
import { DelayQueue } from './delay-queue.ts';
import { ConversationInFlight } from './in-flight.ts';
import { DbThreadPool, type ThreadPoolOptions } from './db-thread-pool.ts';
import { shuffleInPlace, type RandomSource } from './random.ts';
import type { SandboxStore } from './store.ts';
import { latestMsgId, messageList, storeMessage, type MessageContext } from './db-message-handlers.ts';
import { changeMembers, createGroup, groupInfo } from './db-group-handlers.ts';

/** The stock `content` column: varchar(4096), i.e. a plaintext of at most 3068 bytes (notes §6). */
export const DEFAULT_MAX_CONTENT_CHARS = 4096;

/**
 * The real server with MariaDB on 2 cores (notes §10): a ~10 ms floor per reply, about 2.8k
 * messages/s when pipelined, and most replies out of order. The jitter spreads completions over a
 * few milliseconds so neighbours overtake each other.
 */
export const REALISTIC_LATENCY = { floorMs: 10, perSecond: 2800, jitterMs: 2 } as const;

export interface DbProxyOptions extends PeerServerOptions {
  store: SandboxStore;
  random?: RandomSource;
  /** Max random delay per request before it is handled (0: none, but a burst is still shuffled). */
  reorderDelayMs?: number;
  realistic?: boolean;
  /**
   * Thread-pool mode: requests wait in one queue for a pool of worker threads, each free thread taking a random one
   * and holding it for a store time (see db-thread-pool.ts). Not with `realistic`.
   */
  threadPool?: ThreadPoolOptions;
  maxContentChars?: number;
  /** Only to show decrypted text in debug logs. */
  cipher?: TeamTalkCipher;
}

/**
 * db_proxy_server's own faults, beside the switches every server has (noReply, delayMs).
 * - Parked threads (notes §10): the real server hands each request to a random thread of its pool; a thread parked
 *   for ever never answers nor stores what it gets, while the others keep answering. `threads` (default 4) hidden
 *   threads, `parkedThreads` of them parked: that share of requests of every kind vanishes, at random. In
 *   thread-pool mode the pool's threads are the threads (`threads` is ignored): a parked one keeps taking requests,
 *   holds each for its store time, and neither stores nor answers any.
 * - Store late: a share of IMMsgData (`storeLate.share`, default 1) is held `storeLate.delayMs` before it is stored
 *   and answered, as by a thread stuck in a slow query: with a delay longer than the client's reply timeout the
 *   client gives up first, and the row appears after that.
 */
export interface DbProxyFault extends ServerFault {
  threads?: number;
  parkedThreads?: number;
  storeLate?: { share?: number; delayMs: number };
}

export interface DbProxyStats {
  /** PDUs received, heartbeats excepted. */
  requests: number;
  replies: number;
  /** Requests that got no reply, whatever the reason (rules, unparsable body, faults, connection gone). */
  dropped: number;
  parseErrors: number;
  unknownCommands: number;
  /** IMMsgData requests received. */
  msgData: number;
  /** Rows written. */
  msgDataStored: number;
  /** Replies with a msg_id whose row was not written (text longer than the column). */
  msgDataUnstored: number;
  /** Replies with msg_id 0 (self-send, user id 0). */
  msgIdZero: number;
  /** IMMsgData dropped without reply by the rules of notes §6. */
  msgDataNoReply: number;
  /** Pair relations created twice by two first messages handled together (notes §10). */
  duplicateRelations: number;
  /** Requests handed to a parked thread: never answered, never stored (fault `parkedThreads`). */
  parked: number;
  /** IMMsgData held by the `storeLate` fault before being stored. */
  storedLate: number;
  /** Highest number of requests in flight at once, over all connections. */
  maxInFlight: number;
  maxInFlightPerConnection: number;
  /** Highest number of IMMsgData in flight at once for one conversation. */
  maxInFlightPerConversation: number;
}

export interface RequestInfo {
  connectionId: number;
  seqNum: number;
}

export interface DbProxyEvents extends PeerServerEvents {
  /** Every request received; `body` is the decoded message, or undefined when it did not parse or is unknown. */
  request: [commandId: number, body: unknown, info: RequestInfo];
  /** Every reply sent, with the body as encoded. */
  reply: [commandId: number, body: unknown, info: RequestInfo];
}

type RequestBody =
  | im.IMMsgData
  | im.IMGetLatestMsgIdReq
  | im.IMGetMsgListReq
  | im.IMGroupCreateReq
  | im.IMGroupChangeMemberReq
  | im.IMGroupInfoListReq;

const REQUEST_COMMANDS: ReadonlySet<number> = new Set([
  CommandId.MSG_DATA,
  CommandId.MSG_GET_LATEST_MSG_ID_REQ,
  CommandId.MSG_LIST_REQUEST,
  CommandId.GROUP_CREATE_REQUEST,
  CommandId.GROUP_CHANGE_MEMBER_REQUEST,
  CommandId.GROUP_INFO_REQUEST,
]);

class PendingRequest {
  constructor(
    readonly conn: PeerConnection,
    readonly commandId: number,
    readonly seqNum: number,
    readonly body: RequestBody,
    /** IMMsgData only: the conversation it is counted against. */
    readonly counted: boolean,
    readonly group: boolean,
    readonly from: number,
    readonly to: number,
  ) {}
}

function zeroStats(): DbProxyStats {
  return {
    requests: 0,
    replies: 0,
    dropped: 0,
    parseErrors: 0,
    unknownCommands: 0,
    msgData: 0,
    msgDataStored: 0,
    msgDataUnstored: 0,
    msgIdZero: 0,
    msgDataNoReply: 0,
    duplicateRelations: 0,
    parked: 0,
    storedLate: 0,
    maxInFlight: 0,
    maxInFlightPerConnection: 0,
    maxInFlightPerConversation: 0,
  };
}

export class DbProxyServer extends PeerServer<PeerConnection, DbProxyEvents> {
  readonly store: SandboxStore;
  readonly stats: DbProxyStats = zeroStats();
  private readonly random: RandomSource;
  private readonly reorderDelayMs: number;
  private readonly realistic: boolean;
  private readonly cipher: TeamTalkCipher | undefined;
  private readonly ctx: MessageContext;
  private readonly debug: boolean;
  private readonly delayed: DelayQueue<PendingRequest>;
  private readonly perConversation = new ConversationInFlight();
  private pending: PendingRequest[] = [];
  private spare: PendingRequest[] = [];
  private batchScheduled: NodeJS.Immediate | undefined;
  private inFlightNow = 0;
  /** Realistic mode: when the emulated database can next finish a request. */
  private nextSlot = 0;
  private threads = 4;
  private parkedThreads = 0;
  private storeLate: { share: number; delayMs: number } | undefined;
  private readonly pool: DbThreadPool<PendingRequest> | undefined;

  constructor(opts: DbProxyOptions) {
    super('db_proxy', opts);
    this.store = opts.store;
    this.random = opts.random ?? Math.random;
    this.reorderDelayMs = Math.max(0, opts.reorderDelayMs ?? 0);
    this.realistic = opts.realistic ?? false;
    this.cipher = opts.cipher;
    this.ctx = { store: opts.store, maxContentChars: opts.maxContentChars ?? DEFAULT_MAX_CONTENT_CHARS };
    this.debug = debugEnabled(opts.logger);
    this.delayed = new DelayQueue(this.timers, (items) => this.releaseDelayed(items));
    if (opts.threadPool) {
      if (this.realistic) throw new RangeError('db_proxy: realistic mode and thread-pool mode exclude each other');
      this.pool = new DbThreadPool(
        opts.threadPool,
        this.timers,
        this.random,
        (req, thread) => this.completeInPool(req, thread),
        () => this.store.endBatch(),
      );
    }
  }

  /** Sets every fault switch at once (`setFault({})` clears them), db_proxy's own included. */
  override setFault(fault: DbProxyFault): void {
    super.setFault(fault);
    const threads = this.pool?.threads ?? Math.max(1, Math.floor(fault.threads ?? 4));
    this.threads = threads;
    this.parkedThreads = Math.min(threads, Math.max(0, Math.floor(fault.parkedThreads ?? 0)));
    const late = fault.storeLate;
    this.storeLate =
      late && late.delayMs > 0
        ? { share: Math.min(1, Math.max(0, late.share ?? 1)), delayMs: late.delayMs }
        : undefined;
    if (this.parkedThreads > 0 || this.storeLate) {
      this.logger.info(
        { server: this.name, threads, parkedThreads: this.parkedThreads, storeLate: this.storeLate },
        'db_proxy thread faults set',
      );
    }
  }

  /** Requests received and not yet answered or dropped, over all connections. */
  get inFlight(): number {
    return this.inFlightNow;
  }

  /** Zeroes the counters (the in-flight maxima restart from the current in-flight numbers). */
  resetStats(): void {
    Object.assign(this.stats, zeroStats());
    this.stats.maxInFlight = this.inFlightNow;
    this.perConversation.max = 0;
    for (const c of this.conns.values()) c.maxInFlight = c.inFlight;
  }

  protected override handleFrame(conn: PeerConnection, frame: Frame): void {
    const cmd = frame.commandId;
    if (cmd === CommandId.OTHER_HEARTBEAT) return;
    this.stats.requests++;
    conn.requests++;
    if (!REQUEST_COMMANDS.has(cmd)) {
      this.stats.unknownCommands++;
      this.stats.dropped++;
      this.emitRequest(conn, frame, undefined);
      this.ignore(conn, frame, 'db_proxy: command not handled, ignored');
      return;
    }
    let body: RequestBody;
    try {
      body = decodeBody(cmd as KnownCommand, frame.body) as RequestBody;
    } catch (err) {
      this.stats.parseErrors++;
      this.stats.dropped++;
      if (cmd === CommandId.MSG_DATA) this.stats.msgData++;
      this.emitRequest(conn, frame, undefined);
      this.logger.debug(
        { server: this.name, conn: conn.id, command: commandName(cmd), seq: frame.seqNum, err },
        'db_proxy: body does not parse: no reply',
      );
      return;
    }
    this.emitRequest(conn, frame, body);
    let req: PendingRequest;
    if (cmd === CommandId.MSG_DATA) {
      this.stats.msgData++;
      const m = body as im.IMMsgData;
      const group = m.msgType === im.MsgType.MSG_TYPE_GROUP_TEXT || m.msgType === im.MsgType.MSG_TYPE_GROUP_AUDIO;
      req = new PendingRequest(conn, cmd, frame.seqNum, body, true, group, m.fromUserId, m.toSessionId);
      this.perConversation.add(group, m.fromUserId, m.toSessionId);
      if (this.perConversation.max > this.stats.maxInFlightPerConversation) {
        this.stats.maxInFlightPerConversation = this.perConversation.max;
      }
    } else {
      req = new PendingRequest(conn, cmd, frame.seqNum, body, false, false, 0, 0);
    }
    conn.inFlight++;
    if (conn.inFlight > conn.maxInFlight) conn.maxInFlight = conn.inFlight;
    if (conn.inFlight > this.stats.maxInFlightPerConnection) this.stats.maxInFlightPerConnection = conn.inFlight;
    this.inFlightNow++;
    if (this.inFlightNow > this.stats.maxInFlight) this.stats.maxInFlight = this.inFlightNow;
    this.pending.push(req);
    this.batchScheduled ??= setImmediate(this.takeArrivals);
  }

  protected override onStop(): void {
    if (this.batchScheduled) clearImmediate(this.batchScheduled);
    this.batchScheduled = undefined;
    for (const req of this.pending) this.drop(req);
    this.pending = [];
    this.delayed.clear();
    this.pool?.clear();
    this.perConversation.clear();
    this.inFlightNow = 0;
  }

  /** Everything that arrived in this turn of the event loop: shuffled, then handled or delayed. */
  private readonly takeArrivals = (): void => {
    this.batchScheduled = undefined;
    const batch = this.pending;
    this.pending = this.spare;
    this.spare = batch;
    shuffleInPlace(batch, this.random);
    const now = this.timers.now();
    const fixed = this.fault.delayMs;
    let immediate = 0;
    for (let i = 0; i < batch.length; i++) {
      const req = batch[i]!;
      if (this.fault.noReply) {
        this.drop(req);
        continue;
      }
      if (!this.pool && this.parkedThreads > 0 && Math.floor(this.random() * this.threads) < this.parkedThreads) {
        this.stats.parked++;
        this.logger.debug(
          { server: this.name, conn: req.conn.id, command: commandName(req.commandId), seq: req.seqNum },
          'db_proxy: request handed to a parked thread: never answered',
        );
        this.drop(req);
        continue;
      }
      let delay = fixed;
      const late = this.storeLate;
      if (late && req.commandId === CommandId.MSG_DATA && (late.share >= 1 || this.random() < late.share)) {
        this.stats.storedLate++;
        delay += late.delayMs;
      }
      if (this.reorderDelayMs > 0) delay += this.random() * this.reorderDelayMs;
      if (this.realistic) {
        const { floorMs, perSecond, jitterMs } = REALISTIC_LATENCY;
        const start = Math.max(now + floorMs, this.nextSlot);
        this.nextSlot = start + 1000 / perSecond;
        delay += start - now + this.random() * jitterMs;
      }
      if (delay > 0) this.delayed.add(now + delay, req);
      else batch[immediate++] = req;
    }
    batch.length = immediate;
    if (this.pool) for (let i = 0; i < immediate; i++) this.pool.submit(batch[i]!);
    else this.handleBatch(batch);
    batch.length = 0;
  };

  /** Requests released by the delay queue together: handled in a random order too (or queued for the pool). */
  private releaseDelayed(batch: PendingRequest[]): void {
    if (this.pool) {
      for (const req of batch) this.pool.submit(req);
      return;
    }
    shuffleInPlace(batch, this.random);
    this.handleBatch(batch);
  }

  /** Thread-pool mode: `thread` is done with `req`; parked threads are the first `parkedThreads`. */
  private completeInPool(req: PendingRequest, thread: number): void {
    if (thread < this.parkedThreads) {
      this.stats.parked++;
      this.logger.debug(
        { server: this.name, conn: req.conn.id, command: commandName(req.commandId), seq: req.seqNum, thread },
        'db_proxy: request held by a parked thread: never answered',
      );
      this.drop(req);
    } else if (this.fault.noReply) this.drop(req);
    else this.execute(req);
  }

  /** Handles requests "concurrently": one batch is one window for the relation race of notes §10. */
  private handleBatch(batch: PendingRequest[]): void {
    for (let i = 0; i < batch.length; i++) {
      const req = batch[i]!;
      if (this.fault.noReply) this.drop(req);
      else this.execute(req);
    }
    this.store.endBatch();
  }

  private execute(req: PendingRequest): void {
    let replyCommand: number;
    let reply: unknown;
    let bytes: Uint8Array;
    switch (req.commandId) {
      case CommandId.MSG_DATA: {
        const msg = req.body as im.IMMsgData;
        const outcome = this.storeOne(msg);
        if (outcome === undefined) {
          this.stats.msgDataNoReply++;
          this.logger.debug(
            { server: this.name, conn: req.conn.id, seq: req.seqNum, from: msg.fromUserId, to: msg.toSessionId },
            'db_proxy: IMMsgData refused: no reply',
          );
          this.drop(req);
          return;
        }
        msg.msgId = outcome;
        replyCommand = CommandId.MSG_DATA;
        reply = msg;
        bytes = im.IMMsgData.encode(msg).finish();
        break;
      }
      case CommandId.MSG_GET_LATEST_MSG_ID_REQ:
        replyCommand = CommandId.MSG_GET_LATEST_MSG_ID_RSP;
        reply = latestMsgId(this.ctx, req.body as im.IMGetLatestMsgIdReq);
        bytes = encodeBody(CommandId.MSG_GET_LATEST_MSG_ID_RSP, reply as im.IMGetLatestMsgIdRsp.$Properties);
        break;
      case CommandId.MSG_LIST_REQUEST:
        replyCommand = CommandId.MSG_LIST_RESPONSE;
        reply = messageList(this.ctx, req.body as im.IMGetMsgListReq);
        bytes = encodeBody(CommandId.MSG_LIST_RESPONSE, reply as im.IMGetMsgListRsp.$Properties);
        break;
      case CommandId.GROUP_CREATE_REQUEST:
        replyCommand = CommandId.GROUP_CREATE_RESPONSE;
        reply = createGroup(this.store, req.body as im.IMGroupCreateReq);
        bytes = encodeBody(CommandId.GROUP_CREATE_RESPONSE, reply as im.IMGroupCreateRsp.$Properties);
        break;
      case CommandId.GROUP_CHANGE_MEMBER_REQUEST: {
        const rsp = changeMembers(this.store, req.body as im.IMGroupChangeMemberReq);
        if (!rsp) {
          this.logger.debug(
            { server: this.name, conn: req.conn.id, seq: req.seqNum },
            'db_proxy: unknown group: no reply',
          );
          this.drop(req);
          return;
        }
        replyCommand = CommandId.GROUP_CHANGE_MEMBER_RESPONSE;
        reply = rsp;
        bytes = encodeBody(CommandId.GROUP_CHANGE_MEMBER_RESPONSE, rsp);
        break;
      }
      case CommandId.GROUP_INFO_REQUEST:
        replyCommand = CommandId.GROUP_INFO_RESPONSE;
        reply = groupInfo(this.store, req.body as im.IMGroupInfoListReq);
        bytes = encodeBody(CommandId.GROUP_INFO_RESPONSE, reply as im.IMGroupInfoListRsp.$Properties);
        break;
      default:
        this.drop(req);
        return;
    }
    this.complete(req);
    if (req.conn.closed) {
      this.stats.dropped++;
      return;
    }
    req.conn.sendFrame(replyCommand, req.seqNum, bytes);
    this.stats.replies++;
    if (this.listenerCount('reply') > 0) {
      this.emit('reply', replyCommand, reply, { connectionId: req.conn.id, seqNum: req.seqNum });
    }
  }

  /** Stores one IMMsgData; the msg_id to answer, or undefined for no reply. */
  private storeOne(msg: im.IMMsgData): number | undefined {
    const duplicatesBefore = this.store.duplicateRelations;
    const outcome = storeMessage(this.ctx, msg);
    if (!outcome) return undefined;
    if (outcome.msgId === 0) this.stats.msgIdZero++;
    else if (!outcome.written) this.stats.msgDataUnstored++;
    else this.stats.msgDataStored++;
    if (this.store.duplicateRelations !== duplicatesBefore) this.stats.duplicateRelations++;
    if (this.debug) this.logStored(msg, outcome.msgId, outcome.written);
    return outcome.msgId;
  }

  private logStored(msg: im.IMMsgData, msgId: number, written: boolean): void {
    let text: string | undefined;
    if (this.cipher) {
      try {
        text = this.cipher.decryptToString(msg.msgData);
      } catch {
        text = undefined;
      }
    }
    this.logger.debug(
      {
        server: this.name,
        from: msg.fromUserId,
        to: msg.toSessionId,
        msgType: msg.msgType,
        msgId,
        written,
        chars: msg.msgData.length,
        ...(text !== undefined ? { text } : {}),
      },
      msgId === 0 ? 'db_proxy: IMMsgData answered with msg_id 0' : 'db_proxy: IMMsgData stored',
    );
  }

  private emitRequest(conn: PeerConnection, frame: Frame, body: unknown): void {
    if (this.listenerCount('request') > 0) {
      this.emit('request', frame.commandId, body, { connectionId: conn.id, seqNum: frame.seqNum });
    }
  }

  private drop(req: PendingRequest): void {
    this.stats.dropped++;
    this.complete(req);
  }

  private complete(req: PendingRequest): void {
    if (req.conn.inFlight > 0) req.conn.inFlight--;
    if (this.inFlightNow > 0) this.inFlightNow--;
    if (req.counted) this.perConversation.remove(req.group, req.from, req.to);
  }
}
