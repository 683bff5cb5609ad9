/**
 * A bare TeamTalk peer for tests and tools: sends PDUs built with the codec, queues every frame
 * received, and waits (bounded) for the ones a test expects. No reconnects, no correlation.
 */
import { connect, type Socket } from 'node:net';
import {
  CommandId,
  FrameDecoder,
  decodeBody,
  encodePdu,
  im,
  type BodyInput,
  type BodyOf,
  type Frame,
  type KnownCommand,
} from '@ttpush/pdu';

export type FramePredicate = (frame: Frame) => boolean;

interface Waiter {
  predicate: FramePredicate;
  resolve: (f: Frame) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class RawClient {
  /** Frames received and not yet taken by `next()` / `collect()`, oldest first. */
  readonly frames: Frame[] = [];
  /** Every frame received, taken or not. */
  readonly received: Frame[] = [];
  private readonly decoder = new FrameDecoder();
  private waiters: Waiter[] = [];
  private ended = false;
  private endWaiters: (() => void)[] = [];

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = this.decoder.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const f of frames) this.deliver({ ...f, body: Buffer.from(f.body) });
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.ended = true;
      for (const w of this.waiters) {
        clearTimeout(w.timer);
        w.reject(new Error('connection closed while waiting for a frame'));
      }
      this.waiters = [];
      for (const e of this.endWaiters) e();
      this.endWaiters = [];
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host, noDelay: true });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawClient(socket));
      });
    });
  }

  /** Whether the server closed (or we closed) the connection. */
  get closed(): boolean {
    return this.ended;
  }

  send<C extends KnownCommand>(commandId: C, body: BodyInput<C>, seqNum = 0): void {
    this.socket.write(encodePdu(commandId, body, seqNum));
  }

  /** Writes bytes as they are (hostile input, several PDUs at once). */
  sendRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** The first queued or coming frame that matches, removed from the queue; rejects after `timeoutMs`. */
  next(predicate: FramePredicate = () => true, timeoutMs = 2000): Promise<Frame> {
    const i = this.frames.findIndex(predicate);
    if (i >= 0) return Promise.resolve(this.frames.splice(i, 1)[0]!);
    if (this.ended) return Promise.reject(new Error('connection closed'));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new Error(`no matching frame within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** The next frame of a command, decoded. */
  async nextBody<C extends KnownCommand>(
    commandId: C,
    timeoutMs = 2000,
    predicate: FramePredicate = () => true,
  ): Promise<{ frame: Frame; body: BodyOf<C> }> {
    const frame = await this.next((f) => f.commandId === commandId && predicate(f), timeoutMs);
    return { frame, body: decodeBody(commandId, frame.body) };
  }

  /** `count` matching frames, in arrival order. */
  async collect(count: number, predicate: FramePredicate = () => true, timeoutMs = 5000): Promise<Frame[]> {
    const deadline = Date.now() + timeoutMs;
    const out: Frame[] = [];
    while (out.length < count) out.push(await this.next(predicate, Math.max(1, deadline - Date.now())));
    return out;
  }

  /** Resolves true if a matching frame arrives within `ms`, false otherwise (the frame stays queued). */
  async receives(predicate: FramePredicate, ms: number): Promise<boolean> {
    try {
      const f = await this.next(predicate, ms);
      this.frames.unshift(f);
      return true;
    } catch {
      return false;
    }
  }

  /** Resolves when the connection is closed, or rejects after `timeoutMs`. */
  waitClosed(timeoutMs = 2000): Promise<void> {
    if (this.ended) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
      this.endWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Logs in to a msg_server as `userId` (any password) and returns the answer. */
  async login(
    userName: number | string,
    clientType: im.ClientType = im.ClientType.CLIENT_TYPE_WINDOWS,
    seqNum = 1,
  ): Promise<im.IMLoginRes> {
    this.send(
      CommandId.LOGIN_REQ_USERLOGIN,
      {
        userName: String(userName),
        password: 'e10adc3949ba59abbe56e057f20f883e',
        onlineStatus: im.UserStatType.USER_STATUS_ONLINE,
        clientType,
        clientVersion: 'ttpush-sandbox-test',
      },
      seqNum,
    );
    return (await this.nextBody(CommandId.LOGIN_RES_USERLOGIN)).body;
  }

  close(): Promise<void> {
    this.socket.destroy();
    return this.ended ? Promise.resolve() : this.waitClosed();
  }

  private deliver(frame: Frame): void {
    this.received.push(frame);
    const i = this.waiters.findIndex((w) => w.predicate(frame));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      clearTimeout(w!.timer);
      w!.resolve(frame);
      return;
    }
    this.frames.push(frame);
  }
}
