/**
 * msg_server emulated (notes §8): clients log in and send MSG_DATA; it is itself a client of the
 * sandbox db_proxy (to store, and to learn group members) and route (to hear other servers'
 * messages), and pushes messages to the logged-in connections of their users.
 */
import type { Socket } from 'node:net';
import { CommandId, decodeBody, encodeBody, encodeFrame, frameBytes, im, type Frame } from '@ttpush/pdu';
import { PeerServer, type PeerServerEvents, type PeerServerOptions } from './peer-server.ts';
import { PeerConnection, type ConnectionHost } from './peer-connection.ts';
import { DelayQueue } from './delay-queue.ts';
import { UpstreamLink, type LinkStatus } from './upstream-link.ts';
import { ATTACH_HANDLE, ATTACH_HANDLE_AND_PDU, decodeAttach, encodeAttach } from './msg-attach.ts';
import { userIdFromLoginName, userInfoFor } from './user-validation.ts';

/** A connection may send this many MSG_DATA per second; the rest are silently discarded. */
export const MAX_MSG_PER_SECOND = 20;

const RESULT_OK_TEXT = '成功';
const RESULT_SERVER_ERROR_TEXT = '服务端异常';
const RESULT_BAD_LOGIN_TEXT = '用户名/密码错误';

export interface MsgServerOptions extends PeerServerOptions {
  dbHost: string;
  dbPort: number;
  routeHost: string;
  routePort: number;
}

export interface MsgServerStats {
  logins: number;
  loginFailures: number;
  /** MSG_DATA received from logged-in clients. */
  clientMsgData: number;
  /** Of those, discarded (empty, over 20/s, to oneself, no db_proxy). */
  clientMsgDiscarded: number;
  acks: number;
  /** MSG_DATA written to client connections. */
  pushes: number;
  /** MSG_DATA received from route_server. */
  routeMsgData: number;
}

export interface MsgServerEvents extends PeerServerEvents {
  /** A client logged in (user id, connection id). */
  login: [userId: number, connectionId: number];
}

function isSingle(type: number): boolean {
  return type === im.MsgType.MSG_TYPE_SINGLE_TEXT || type === im.MsgType.MSG_TYPE_SINGLE_AUDIO;
}

function isGroup(type: number): boolean {
  return type === im.MsgType.MSG_TYPE_GROUP_TEXT || type === im.MsgType.MSG_TYPE_GROUP_AUDIO;
}

class ClientConnection extends PeerConnection {
  readonly connectedAt: number;
  loginName = '';
  userId = 0;
  loggedIn = false;
  mobile = false;
  second = 0;
  sentThisSecond = 0;

  constructor(id: number, socket: Socket, host: ConnectionHost, maxPduLength: number) {
    super(id, socket, host, maxPduLength);
    this.connectedAt = host.timers.now();
  }
}

export class MsgServer extends PeerServer<ClientConnection, MsgServerEvents> {
  readonly stats: MsgServerStats = {
    logins: 0,
    loginFailures: 0,
    clientMsgData: 0,
    clientMsgDiscarded: 0,
    acks: 0,
    pushes: 0,
    routeMsgData: 0,
  };
  private readonly db: UpstreamLink;
  private readonly routeLink: UpstreamLink;
  private readonly users = new Map<number, Set<ClientConnection>>();
  private readonly delayed: DelayQueue<() => void>;

  constructor(opts: MsgServerOptions) {
    super('msg_server', opts);
    this.sendsHeartbeats = false;
    const link = { timers: opts.timers, logger: opts.logger, timing: opts.timing, maxPduLength: this.maxPduLength };
    this.db = new UpstreamLink({
      ...link,
      name: 'db_proxy',
      host: opts.dbHost,
      port: opts.dbPort,
      onFrame: (f) => this.fromDb(f),
    });
    this.routeLink = new UpstreamLink({
      ...link,
      name: 'route',
      host: opts.routeHost,
      port: opts.routePort,
      onFrame: (f) => this.fromRoute(f),
    });
    this.delayed = new DelayQueue(this.timers, (fns) => {
      for (const fn of fns) fn();
    });
  }

  /** The state of its own connections to db_proxy and route. */
  get upstream(): { db: LinkStatus; route: LinkStatus } {
    return { db: this.db.status, route: this.routeLink.status };
  }

  /** Resolves once connected to both db_proxy and route. */
  async waitUpstream(timeoutMs = 5000): Promise<void> {
    await Promise.all([this.db.whenReady(timeoutMs), this.routeLink.whenReady(timeoutMs)]);
  }

  /** Logged-in users and how many connections each has here. */
  onlineUsers(): { userId: number; connections: number }[] {
    return [...this.users.entries()].map(([userId, set]) => ({ userId, connections: set.size }));
  }

  override async start(): Promise<void> {
    await super.start();
    this.db.start();
    this.routeLink.start();
  }

  protected override onStop(): void {
    this.db.stop();
    this.routeLink.stop();
    this.delayed.clear();
  }

  protected override createConnection(id: number, socket: Socket, host: ConnectionHost): ClientConnection {
    return new ClientConnection(id, socket, host, this.maxPduLength);
  }

  protected override onConnectionClosed(conn: ClientConnection): void {
    if (!conn.loggedIn) return;
    const set = this.users.get(conn.userId);
    set?.delete(conn);
    if (set?.size === 0) this.users.delete(conn.userId);
  }

  /** Clients are not sent heartbeats; they are dropped when silent, or when they never log in. */
  protected override checkConnection(conn: ClientConnection, now: number): void {
    const t = this.timing;
    const silentFor = now - conn.lastRecv;
    const limit = conn.mobile ? t.mobileClientTimeoutMs : t.clientTimeoutMs;
    if (silentFor >= limit || (!conn.loggedIn && now - conn.connectedAt >= t.loginTimeoutMs)) {
      this.logger.info({ server: this.name, conn: conn.id, user: conn.userId }, 'client timeout: closing');
      conn.destroy();
    }
  }

  protected override handleFrame(conn: ClientConnection, frame: Frame): void {
    if (this.fault.noReply) return;
    if (this.fault.delayMs > 0) {
      const copy = { ...frame, body: Buffer.from(frame.body) };
      this.delayed.add(this.timers.now() + this.fault.delayMs, () => {
        if (!conn.closed) this.handleClientFrame(conn, copy);
      });
      return;
    }
    this.handleClientFrame(conn, frame);
  }

  private handleClientFrame(conn: ClientConnection, frame: Frame): void {
    switch (frame.commandId) {
      case CommandId.OTHER_HEARTBEAT:
        conn.send(frameBytes(frame));
        return;
      case CommandId.LOGIN_REQ_USERLOGIN:
        this.login(conn, frame);
        return;
      case CommandId.MSG_DATA:
        this.clientMsgData(conn, frame);
        return;
      case CommandId.MSG_GET_LATEST_MSG_ID_REQ:
      case CommandId.MSG_LIST_REQUEST:
        this.forwardQuery(conn, frame);
        return;
      default:
        this.ignore(conn, frame, 'msg_server: client command not handled, ignored');
    }
  }

  private login(conn: ClientConnection, frame: Frame): void {
    if (conn.loginName.length > 0) {
      this.ignore(conn, frame, 'msg_server: second login on one connection, ignored');
      return;
    }
    const serverTime = this.nowSeconds();
    const refusal = !this.db.ready
      ? im.ResultType.REFUSE_REASON_NO_DB_SERVER
      : !this.routeLink.ready
        ? im.ResultType.REFUSE_REASON_NO_ROUTE_SERVER
        : undefined;
    if (refusal !== undefined) {
      this.refuseLogin(conn, frame, refusal, RESULT_SERVER_ERROR_TEXT);
      return;
    }
    let req: im.IMLoginReq;
    try {
      req = decodeBody(CommandId.LOGIN_REQ_USERLOGIN, frame.body);
    } catch {
      this.ignore(conn, frame, 'msg_server: IMLoginReq does not parse, ignored');
      return;
    }
    conn.loginName = req.userName || ' ';
    const userId = userIdFromLoginName(req.userName);
    if (userId === undefined) {
      this.refuseLogin(conn, frame, im.ResultType.REFUSE_REASON_DB_VALIDATE_FAILED, RESULT_BAD_LOGIN_TEXT);
      return;
    }
    conn.userId = userId;
    conn.loggedIn = true;
    conn.mobile =
      req.clientType === im.ClientType.CLIENT_TYPE_IOS || req.clientType === im.ClientType.CLIENT_TYPE_ANDROID;
    let set = this.users.get(userId);
    if (!set) {
      set = new Set();
      this.users.set(userId, set);
    }
    set.add(conn);
    this.stats.logins++;
    const body = encodeBody(CommandId.LOGIN_RES_USERLOGIN, {
      serverTime,
      resultCode: im.ResultType.REFUSE_REASON_NONE,
      resultString: RESULT_OK_TEXT,
      onlineStatus: req.onlineStatus,
      userInfo: userInfoFor(userId),
    });
    conn.sendFrame(CommandId.LOGIN_RES_USERLOGIN, frame.seqNum, body);
    this.logger.info({ server: this.name, conn: conn.id, user: userId }, 'client logged in');
    this.emit('login', userId, conn.id);
  }

  /** A failed login is answered, then the connection is closed (as the real msg_server does). */
  private refuseLogin(conn: ClientConnection, frame: Frame, resultCode: im.ResultType, text: string): void {
    this.stats.loginFailures++;
    const body = encodeBody(CommandId.LOGIN_RES_USERLOGIN, {
      serverTime: this.nowSeconds(),
      resultCode,
      resultString: text,
    });
    conn.sendFrame(CommandId.LOGIN_RES_USERLOGIN, frame.seqNum, body);
    this.logger.info({ server: this.name, conn: conn.id, resultCode }, 'client login refused');
    conn.end();
  }

  private clientMsgData(conn: ClientConnection, frame: Frame): void {
    if (!conn.loggedIn) {
      this.ignore(conn, frame, 'msg_server: MSG_DATA before login, ignored');
      return;
    }
    let msg: im.IMMsgData;
    try {
      msg = decodeBody(CommandId.MSG_DATA, frame.body);
    } catch {
      this.ignore(conn, frame, 'msg_server: IMMsgData does not parse, ignored');
      return;
    }
    this.stats.clientMsgData++;
    const now = this.timers.now();
    const second = Math.floor(now / 1000);
    if (second !== conn.second) {
      conn.second = second;
      conn.sentThisSecond = 0;
    }
    let why: string | undefined;
    if (msg.msgData.length === 0) why = 'empty message';
    else if (conn.sentThisSecond >= MAX_MSG_PER_SECOND) why = 'too many messages in one second';
    else if (isSingle(msg.msgType) && msg.toSessionId === conn.userId) why = 'message to oneself';
    if (why === undefined) {
      conn.sentThisSecond++;
      msg.fromUserId = conn.userId;
      msg.createTime = second;
      msg.attachData = encodeAttach(ATTACH_HANDLE, conn.id);
      if (!this.db.sendFrame(CommandId.MSG_DATA, frame.seqNum, im.IMMsgData.encode(msg).finish())) {
        why = 'no db_proxy connection';
      }
    }
    if (why !== undefined) {
      this.stats.clientMsgDiscarded++;
      this.ignore(conn, frame, `msg_server: MSG_DATA discarded: ${why}`);
    }
  }

  /** MSG_LIST / LATEST_MSG_ID from a client: asked of db_proxy for the logged-in user. */
  private forwardQuery(conn: ClientConnection, frame: Frame): void {
    if (!conn.loggedIn) return;
    const cmd = frame.commandId as typeof CommandId.MSG_LIST_REQUEST | typeof CommandId.MSG_GET_LATEST_MSG_ID_REQ;
    let req: im.IMGetMsgListReq | im.IMGetLatestMsgIdReq;
    try {
      req = decodeBody(cmd, frame.body);
    } catch {
      return;
    }
    req.userId = conn.userId;
    req.attachData = encodeAttach(ATTACH_HANDLE, conn.id);
    this.db.sendFrame(cmd, frame.seqNum, encodeBody(cmd, req as im.IMGetMsgListReq & im.IMGetLatestMsgIdReq));
  }

  // ---- from db_proxy ----------------------------------------------------------------------

  private fromDb(frame: Frame): void {
    switch (frame.commandId) {
      case CommandId.MSG_DATA:
        this.storedReply(frame);
        return;
      case CommandId.GROUP_INFO_RESPONSE:
        this.groupMembers(frame);
        return;
      case CommandId.MSG_LIST_RESPONSE:
      case CommandId.MSG_GET_LATEST_MSG_ID_RSP:
        this.queryAnswer(frame);
        return;
      default:
        this.logger.debug({ server: this.name, command: frame.commandId }, 'msg_server: db_proxy frame ignored');
    }
  }

  /**
   * db_proxy stored a client's message: ACK the sending connection, hand the message to route,
   * push it (attach_data cleared, seq 0) to the sender's other connections and the recipient's.
   */
  private storedReply(frame: Frame): void {
    let msg: im.IMMsgData;
    try {
      msg = decodeBody(CommandId.MSG_DATA, frame.body);
    } catch {
      return;
    }
    if (msg.msgId === 0) {
      this.logger.debug(
        { server: this.name, from: msg.fromUserId, to: msg.toSessionId },
        'msg_server: msg_id 0 dropped',
      );
      return;
    }
    const attach = decodeAttach(msg.attachData);
    const sender = attach ? this.conns.get(attach.handle) : undefined;
    const from = sender && sender.loggedIn && sender.userId === msg.fromUserId ? sender : undefined;
    const group = isGroup(msg.msgType);
    if (from) {
      const ack = encodeBody(CommandId.MSG_DATA_ACK, {
        userId: msg.fromUserId,
        sessionId: msg.toSessionId,
        msgId: msg.msgId,
        sessionType: group ? im.SessionType.SESSION_TYPE_GROUP : im.SessionType.SESSION_TYPE_SINGLE,
      });
      from.sendFrame(CommandId.MSG_DATA_ACK, frame.seqNum, ack);
      this.stats.acks++;
    }
    const cleared = im.IMMsgData.encode({
      fromUserId: msg.fromUserId,
      toSessionId: msg.toSessionId,
      msgId: msg.msgId,
      createTime: msg.createTime,
      msgType: msg.msgType,
      msgData: msg.msgData,
    }).finish();
    this.routeLink.sendFrame(CommandId.MSG_DATA, frame.seqNum, cleared);
    const push = encodeFrame({ commandId: CommandId.MSG_DATA, seqNum: 0 }, cleared);
    if (group) this.askMembers(msg.fromUserId, msg.toSessionId, from?.id ?? 0, push);
    else {
      this.pushToUser(msg.fromUserId, push, from);
      this.pushToUser(msg.toSessionId, push, undefined);
    }
  }

  /** The group's members, asked of db_proxy; the push travels in attach_data and goes out on the answer. */
  private askMembers(from: number, groupId: number, handle: number, push: Buffer): void {
    const body = encodeBody(CommandId.GROUP_INFO_REQUEST, {
      userId: from,
      groupVersionList: [{ groupId, version: 0 }],
      attachData: encodeAttach(ATTACH_HANDLE_AND_PDU, handle, push),
    });
    this.db.sendFrame(CommandId.GROUP_INFO_REQUEST, 0, body);
  }

  /** Pushes a group message to the members online here, if its sender is a member. */
  private groupMembers(frame: Frame): void {
    let rsp: im.IMGroupInfoListRsp;
    try {
      rsp = decodeBody(CommandId.GROUP_INFO_RESPONSE, frame.body);
    } catch {
      return;
    }
    const attach = decodeAttach(rsp.attachData);
    const info = rsp.groupInfoList[0];
    if (!attach || attach.type !== ATTACH_HANDLE_AND_PDU || !info) return;
    const members = info.groupMemberList ?? [];
    if (!members.includes(rsp.userId)) {
      this.logger.debug(
        { server: this.name, user: rsp.userId, group: info.groupId },
        'msg_server: sender not in group',
      );
      return;
    }
    const except = attach.handle === 0 ? undefined : this.conns.get(attach.handle);
    for (const member of new Set(members)) this.pushToUser(member, attach.pdu, except);
  }

  /** A client's MSG_LIST / LATEST_MSG_ID answer: back to its connection with attach_data cleared. */
  private queryAnswer(frame: Frame): void {
    const cmd = frame.commandId as typeof CommandId.MSG_LIST_RESPONSE | typeof CommandId.MSG_GET_LATEST_MSG_ID_RSP;
    let rsp: im.IMGetMsgListRsp | im.IMGetLatestMsgIdRsp;
    try {
      rsp = decodeBody(cmd, frame.body);
    } catch {
      return;
    }
    const attach = decodeAttach(rsp.attachData);
    const conn = attach?.type === ATTACH_HANDLE ? this.conns.get(attach.handle) : undefined;
    if (!conn || !conn.loggedIn || conn.userId !== rsp.userId) return;
    const { attachData: _dropped, ...rest } = rsp;
    conn.sendFrame(cmd, frame.seqNum, encodeBody(cmd, rest as im.IMGetMsgListRsp & im.IMGetLatestMsgIdRsp));
  }

  // ---- from route -------------------------------------------------------------------------

  /** Another server's message: pushed unchanged (attach_data included) to the sender's and recipient's connections here. */
  private fromRoute(frame: Frame): void {
    if (frame.commandId !== CommandId.MSG_DATA) {
      this.logger.debug({ server: this.name, command: frame.commandId }, 'msg_server: route frame ignored');
      return;
    }
    let msg: im.IMMsgData;
    try {
      msg = decodeBody(CommandId.MSG_DATA, frame.body);
    } catch {
      return;
    }
    this.stats.routeMsgData++;
    const pdu = frameBytes(frame);
    if (isGroup(msg.msgType)) {
      this.askMembers(msg.fromUserId, msg.toSessionId, 0, Buffer.from(pdu));
      return;
    }
    // A text to oneself (forwarded with msg_id 0 by the old HTTP server) reaches that user twice, as on the real server.
    this.pushToUser(msg.fromUserId, pdu, undefined);
    this.pushToUser(msg.toSessionId, pdu, undefined);
  }

  private pushToUser(userId: number, pdu: Uint8Array, except: ClientConnection | undefined): void {
    const set = this.users.get(userId);
    if (!set) return;
    for (const conn of set) {
      if (conn === except) continue;
      conn.send(pdu);
      this.stats.pushes++;
    }
  }

  private nowSeconds(): number {
    return Math.floor(this.timers.now() / 1000);
  }
}
