/**
 * The worker's view of TeamTalk: stores a message through db_proxy_server, reads a conversation back,
 * and forwards a stored message to the master route_server.
 */
import { CommandId, DbProxyPool, RoutePool, TeamTalkCipher, im, type BodyWriter, type RequestBatch } from '@ttpush/pdu';
import type { Config } from '@ttpush/config';
import type { Recipient } from '@ttpush/contract';
import type { Logger } from 'pino';
import type { LocalTokens } from '@ttpush/store';
import type { InFlightGate } from './in-flight-gate.ts';

export interface StoredMessage {
  fromUserId: number;
  toSessionId: number;
  msgId: number;
  createTime: number;
  msgType: im.MsgType;
  msgData: Uint8Array;
}

/** Read-back pages: enough to walk past other traffic in a busy conversation, bounded. */
const READ_BACK_PAGE = 100;
const READ_BACK_MAX_PAGES = 20;
const STORE_OPTIONS = { responseCommand: CommandId.MSG_DATA } as const;

export class TeamTalk {
  readonly db: DbProxyPool;
  readonly route: RoutePool;
  private readonly cipher: TeamTalkCipher;
  /** Ciphertext per distinct text: a batch or a repeated alert encrypts once. */
  private readonly cipherCache = new Map<string, Buffer>();
  /** This worker's share of TTPUSH_TEAMTALK_MAX_IN_FLIGHT_TOTAL; unset: only the per-connection window. */
  gate: InFlightGate | undefined;
  /**
   * TTPUSH_TEAMTALK_MAX_RATE's tokens; unset: unlimited. Taken by store() once it holds its place of the gate,
   * right before the request is written, so no queue between token and wire can bunch requests into a burst.
   */
  rate: LocalTokens | undefined;

  constructor(config: Config, logger: Logger) {
    this.cipher = new TeamTalkCipher(config.aesKey);
    const common = {
      requestTimeoutMs: config.teamtalk.replyTimeoutMs,
      maxInFlight: config.teamtalk.maxInFlight,
      connectTimeoutMs: config.teamtalk.connectTimeoutMs,
    };
    this.db = new DbProxyPool({
      addresses: config.dbProxyAddrs,
      connectionsPerServer: config.teamtalk.dbProxyConnections,
      ...common,
      logger: logger.child({ pool: 'db_proxy' }),
    });
    this.route = new RoutePool({ addresses: config.routeAddrs, ...common, logger: logger.child({ pool: 'route' }) });
  }

  async start(): Promise<void> {
    await Promise.all([this.db.start(), this.route.start()]);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.db.close(), this.route.close()]);
  }

  /** The base64 ciphertext TeamTalk stores for `text`, as bytes. */
  ciphertext(text: string): Buffer {
    let c = this.cipherCache.get(text);
    if (!c) {
      c = Buffer.from(this.cipher.encryptToBase64(text), 'latin1');
      if (this.cipherCache.size >= 10_000) this.cipherCache.clear();
      this.cipherCache.set(text, c);
    }
    return c;
  }

  /**
   * The pool's request(), holding a place of the in-flight gate while it is out. Every request goes through
   * here.
   */
  readonly request: DbProxyPool['request'] = (commandId, body, options) => {
    const gate = this.gate;
    if (gate === undefined) return this.db.request(commandId, body, options);
    return gate.run(() => this.db.request(commandId, body, options));
  };

  /** Sends IMMsgData; resolves with db_proxy's reply (msg_id 0 means refused). */
  store(from: number, to: Recipient, createTime: number, msgData: Buffer): Promise<StoredMessage> {
    const group = 'group' in to;
    const body = {
      fromUserId: from,
      toSessionId: group ? to.group : to.user,
      msgId: 0,
      createTime,
      msgType: group ? im.MsgType.MSG_TYPE_GROUP_TEXT : im.MsgType.MSG_TYPE_SINGLE_TEXT,
      msgData,
    };
    const rate = this.rate;
    if (rate === undefined) return this.request(CommandId.MSG_DATA, body, STORE_OPTIONS) as Promise<StoredMessage>;
    // Place in the gate first, then the token, then the wire.
    const send = () => {
      const wait = rate.take();
      const out = () => this.db.request(CommandId.MSG_DATA, body, STORE_OPTIONS) as Promise<StoredMessage>;
      return wait === undefined ? out() : wait.then(out);
    };
    return this.gate === undefined ? send() : this.gate.run(send);
  }

  /** Whether storeBatch() may be used: no in-flight gate or global rate to take a place or token per message. */
  get batchable(): boolean {
    return this.gate === undefined && this.rate === undefined;
  }

  /**
   * Sends IMMsgData tags[from..to) of `batch` (see DbProxyPool.requestBatch); answers how many were issued, the
   * rest were not sent. Only while batchable.
   */
  storeBatch(batch: RequestBatch, tags: ArrayLike<number>, from: number, to: number): number {
    return this.db.requestBatch(batch, tags, from, to);
  }

  /** forward() for IMMsgData tags[0..n), their bodies written by `bodies` (without attach_data), in one buffer. */
  forwardBatch(bodies: BodyWriter, tags: ArrayLike<number>, n: number): boolean {
    try {
      this.route.forwardBatch(CommandId.MSG_DATA, bodies, tags, 0, n);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Forwards a stored message to route_server, our attach_data cleared (notes §8). Returns false only when no
   * route_server is ready (the message stays stored; recipients get it on their next sync); a full write
   * buffer still queues the message in order.
   */
  forward(m: StoredMessage): boolean {
    try {
      this.route.forward(CommandId.MSG_DATA, {
        fromUserId: m.fromUserId,
        toSessionId: m.toSessionId,
        msgId: m.msgId,
        createTime: m.createTime,
        msgType: m.msgType,
        msgData: m.msgData,
      });
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Finds a message we may have stored: newer than `floor` (the conversation's last msg_id we knew before
   * the send), from our sender, with our create_time and our ciphertext. Returns its msg_id, or 0.
   */
  async readBack(from: number, to: Recipient, createTime: number, floor: number, msgData: Buffer): Promise<number> {
    const group = 'group' in to;
    const sessionType = group ? im.SessionType.SESSION_TYPE_GROUP : im.SessionType.SESSION_TYPE_SINGLE;
    const sessionId = group ? to.group : to.user;
    const latest = (await this.request(
      CommandId.MSG_GET_LATEST_MSG_ID_REQ,
      { userId: from, sessionType, sessionId },
      { responseCommand: CommandId.MSG_GET_LATEST_MSG_ID_RSP },
    )) as { latestMsgId: number };
    if (latest.latestMsgId <= floor) return 0;
    let begin = 0;
    for (let page = 0; page < READ_BACK_MAX_PAGES; page++) {
      const rsp = (await this.request(
        CommandId.MSG_LIST_REQUEST,
        { userId: from, sessionType, sessionId, msgIdBegin: begin, msgCnt: READ_BACK_PAGE },
        { responseCommand: CommandId.MSG_LIST_RESPONSE },
      )) as { msgList: { msgId: number; fromSessionId: number; createTime: number; msgData: Uint8Array }[] };
      let lowest = Infinity;
      let newer = 0;
      for (const m of rsp.msgList) {
        lowest = Math.min(lowest, m.msgId);
        if (m.msgId <= floor) continue;
        newer++;
        if (m.fromSessionId === from && m.createTime === createTime && Buffer.from(m.msgData).equals(msgData)) {
          return m.msgId;
        }
      }
      if (rsp.msgList.length < READ_BACK_PAGE || newer === 0 || lowest <= 1) return 0;
      begin = lowest - 1;
    }
    return 0;
  }

  /**
   * A cheap read of the conversation (its latest msg_id), over a connection to `address` when given: resolves when
   * that db_proxy_server answers it.
   */
  async probe(address: string | undefined, from: number, to: Recipient): Promise<void> {
    const group = 'group' in to;
    await this.request(
      CommandId.MSG_GET_LATEST_MSG_ID_REQ,
      {
        userId: from,
        sessionType: group ? im.SessionType.SESSION_TYPE_GROUP : im.SessionType.SESSION_TYPE_SINGLE,
        sessionId: group ? to.group : to.user,
      },
      { responseCommand: CommandId.MSG_GET_LATEST_MSG_ID_RSP, ...(address === undefined ? {} : { address }) },
    );
  }

  /**
   * Why db_proxy would drop a group send from `from` on purpose (notes §6: an unknown group, a sender who is not a
   * member), asked with GROUP_INFO; null when neither holds.
   */
  async groupRefusal(from: number, group: number): Promise<'group_not_found' | 'not_a_member' | null> {
    const rsp = (await this.request(
      CommandId.GROUP_INFO_REQUEST,
      { userId: from, groupVersionList: [{ groupId: group, version: 0 }] },
      { responseCommand: CommandId.GROUP_INFO_RESPONSE },
    )) as { groupInfoList: { groupId: number; groupMemberList: number[] }[] };
    const info = rsp.groupInfoList.find((g) => g.groupId === group);
    if (!info) return 'group_not_found';
    return info.groupMemberList.includes(from) ? null : 'not_a_member';
  }

  get ready(): { dbProxy: boolean; route: boolean } {
    return { dbProxy: this.db.ready, route: this.route.master !== undefined };
  }
}
