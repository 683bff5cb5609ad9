/**
 * A client's session on a TeamTalk msg_server (protocol notes §8): connect, log in with IMLoginReq,
 * then receive pushed MSG_DATA, answer each with MSG_DATA_ACK and send IMHeartBeat on a timer.
 * The only module of the listen command that touches a socket.
 */
import { connect, type Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { CommandId, FrameDecoder, ProtocolError, decodeBody, encodePdu, im, type Frame } from '@ttpush/pdu';
import { ListenError, LoginRejectedError } from './listen-error.ts';

export interface SessionOptions {
  readonly host: string;
  readonly port: number;
  readonly userName: string;
  /** The plain password; the session sends its MD5 hex, as stock clients do. */
  readonly password: string;
  readonly clientVersion?: string;
  /** Stock clients send IMHeartBeat every 5 s; msg_server drops a client silent for 120 s. */
  readonly heartbeatMs?: number;
  readonly connectTimeoutMs?: number;
  readonly loginTimeoutMs?: number;
  /** Aborting before the login completes rejects `open()` with LISTEN_ABORTED. */
  readonly signal?: AbortSignal;
}

export interface SessionEvents {
  /** A MSG_DATA pushed to this user; the caller acknowledges it with `ack()`. */
  onMessage(msg: im.IMMsgData): void;
  /** The session ended without `close()`: the server closed it, a socket error, or a framing fault. */
  onLost(err: Error): void;
  /** Something worth telling a person on stderr (a PDU dropped); never fatal. */
  onNotice?(text: string): void;
}

export type SessionStatus = 'connecting' | 'logging-in' | 'online' | 'closed';

const LOGIN_SEQ = 1;
/** How long `close()` waits for the server to see our FIN before it destroys the socket. */
const CLOSE_GRACE_MS = 1000;

export class MsgServerSession {
  private statusValue: SessionStatus = 'connecting';
  private userIdValue = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly decoder = new FrameDecoder();
  private closed: Promise<void>;

  private constructor(
    private readonly socket: Socket,
    private readonly events: SessionEvents,
  ) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /** Connects and logs in; resolves once msg_server accepted the login. */
  static open(options: SessionOptions, events: SessionEvents): Promise<MsgServerSession> {
    const address = `${options.host}:${options.port}`;
    const socket = connect({ host: options.host, port: options.port });
    socket.setNoDelay(true);
    const session = new MsgServerSession(socket, events);
    return new Promise<MsgServerSession>((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const startTimer = (ms: number, err: () => ListenError) => {
        clearTimeout(timer);
        timer = setTimeout(() => fail(err()), ms);
      };
      const onAbort = () => fail(new ListenError('LISTEN_ABORTED', `gave up before logging in to ${address}`));
      const finish = () => {
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
      };
      const fail = (err: Error) => {
        if (settled) return;
        finish();
        session.stop();
        reject(err);
      };
      const connectMs = options.connectTimeoutMs ?? 10_000;
      startTimer(
        connectMs,
        () =>
          new ListenError('LISTEN_CONNECT_TIMEOUT', `timed out after ${connectMs / 1000} s connecting to ${address}`),
      );
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });

      socket.once('connect', () => {
        session.setStatus('logging-in');
        const loginMs = options.loginTimeoutMs ?? 10_000;
        startTimer(
          loginMs,
          () =>
            new ListenError('LISTEN_LOGIN_TIMEOUT', `${address} did not answer the login within ${loginMs / 1000} s`),
        );
        socket.write(
          encodePdu(
            CommandId.LOGIN_REQ_USERLOGIN,
            {
              userName: options.userName,
              password: createHash('md5').update(options.password, 'utf8').digest('hex'),
              onlineStatus: im.UserStatType.USER_STATUS_ONLINE,
              clientType: im.ClientType.CLIENT_TYPE_WINDOWS,
              clientVersion: options.clientVersion ?? 'ttpush-listen',
            },
            LOGIN_SEQ,
          ),
        );
      });
      let socketError: Error | undefined;
      socket.on('error', (err: NodeJS.ErrnoException) => {
        socketError = err;
        if (session.statusValue === 'connecting') fail(connectError(err, address));
      });
      socket.on('close', () => {
        const wasOnline = session.statusValue === 'online';
        session.stop();
        if (!settled) {
          const why = socketError ? `: ${socketError.message}` : '';
          fail(
            new ListenError(
              'LISTEN_CONNECTION_LOST',
              `${address} closed the connection before answering the login${why}`,
            ),
          );
        } else if (wasOnline) {
          const why = socketError ? `: ${socketError.message}` : '';
          events.onLost(
            new ListenError('LISTEN_CONNECTION_LOST', `${address} closed the connection${why}`, { cause: socketError }),
          );
        }
      });
      socket.on('data', (chunk: Buffer) => {
        let frames: Frame[];
        try {
          frames = session.decoder.push(chunk);
        } catch (err) {
          // A framing fault: the stream cannot be resynchronised, so the session ends.
          const fault = new ProtocolError(
            (err as ProtocolError).code,
            `framing fault from ${address}: ${(err as Error).message}`,
          );
          if (!settled) return fail(fault);
          return session.lose(fault);
        }
        for (const frame of frames) {
          if (session.statusValue === 'closed') return;
          if (session.statusValue === 'logging-in') {
            if (frame.commandId !== CommandId.LOGIN_RES_USERLOGIN) continue;
            let res: im.IMLoginRes;
            try {
              res = decodeBody(CommandId.LOGIN_RES_USERLOGIN, frame.body);
            } catch (err) {
              return fail(err as Error);
            }
            if (res.resultCode !== im.ResultType.REFUSE_REASON_NONE) {
              const name = im.ResultType[res.resultCode] ?? 'unknown';
              const text = res.resultString ?? '';
              return fail(
                new LoginRejectedError(
                  res.resultCode,
                  text,
                  `login refused by ${address}: result_code ${res.resultCode} (${name})${text ? `: ${text}` : ''}`,
                ),
              );
            }
            session.userIdValue = res.userInfo?.userId ?? numericId(options.userName);
            session.setStatus('online');
            session.startHeartbeat(options.heartbeatMs ?? 5000);
            finish();
            resolve(session);
          } else {
            session.handle(frame);
          }
        }
      });
    });
  }

  get status(): SessionStatus {
    return this.statusValue;
  }

  /** The logged-in user: from the login reply's user_info, else the numeric user name, else 0. */
  get userId(): number {
    return this.userIdValue;
  }

  /**
   * Answers a received message with MSG_DATA_ACK. The session is the other party of the conversation:
   * the group for a group message, otherwise the sender (or the recipient, for a message this user
   * sent from another device).
   */
  ack(msg: im.IMMsgData): void {
    if (this.statusValue !== 'online') return;
    const group = msg.msgType === im.MsgType.MSG_TYPE_GROUP_TEXT || msg.msgType === im.MsgType.MSG_TYPE_GROUP_AUDIO;
    const sessionId = group || msg.fromUserId === this.userIdValue ? msg.toSessionId : msg.fromUserId;
    this.socket.write(
      encodePdu(CommandId.MSG_DATA_ACK, {
        userId: this.userIdValue,
        sessionId,
        msgId: msg.msgId,
        sessionType: group ? im.SessionType.SESSION_TYPE_GROUP : im.SessionType.SESSION_TYPE_SINGLE,
      }),
    );
  }

  /** Ends the session: what was written (the last ACK) is sent first; bounded by a short grace period. */
  async close(): Promise<void> {
    if (this.statusValue !== 'closed') {
      this.setStatus('closed');
      this.stopHeartbeat();
      this.socket.end();
      const grace = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
      await this.closed;
      clearTimeout(grace);
    }
    await this.closed;
  }

  private handle(frame: Frame): void {
    if (frame.commandId !== CommandId.MSG_DATA) return; // heartbeats, ACKs, notifications: not ours to show
    let msg: im.IMMsgData;
    try {
      msg = decodeBody(CommandId.MSG_DATA, frame.body);
    } catch (err) {
      // Like the real peers, drop a body that does not parse and keep the connection.
      this.events.onNotice?.(`dropped a MSG_DATA that does not parse: ${(err as Error).message}`);
      return;
    }
    this.events.onMessage(msg);
  }

  private lose(err: Error): void {
    if (this.statusValue === 'closed') return;
    this.stop();
    this.events.onLost(err);
  }

  /** Stops everything at once (a failure); `close()` is the graceful way. */
  private stop(): void {
    this.setStatus('closed');
    this.stopHeartbeat();
    this.socket.destroy();
  }

  private startHeartbeat(ms: number): void {
    this.heartbeat = setInterval(() => this.socket.write(encodePdu(CommandId.OTHER_HEARTBEAT, {})), ms);
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  private setStatus(status: SessionStatus): void {
    this.statusValue = status;
  }
}

function numericId(userName: string): number {
  const n = /^\d+$/.test(userName) ? Number(userName) : 0;
  return Number.isSafeInteger(n) && n <= 0xffffffff ? n : 0;
}

function connectError(err: NodeJS.ErrnoException, address: string): ListenError {
  if (err.code === 'ECONNREFUSED') {
    return new ListenError('LISTEN_CONNECT_REFUSED', `connection refused by ${address} (is a msg_server listening?)`, {
      cause: err,
    });
  }
  return new ListenError('LISTEN_CONNECT_FAILED', `cannot connect to ${address}: ${err.message}`, { cause: err });
}
