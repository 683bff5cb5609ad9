/**
 * A TCP socket carrying TeamTalk frames and nothing above them: no heartbeats, no reconnects, no
 * request correlation (TeamTalkConnection does those for real traffic). For short-lived probes and
 * test peers, client or server side.
 *
 * Invariants: each frame received is shown to `onFrame` (when given), then handed out once: to the
 * oldest waiting next() it matches, else kept (at most `keep`, the oldest dropped first) for a later
 * next(). The first failure (a framing fault, a socket error,
 * the peer closing, close()) is final: it rejects every wait, later ones too once nothing kept matches.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { ConnectionError } from './errors.ts';
import { FrameDecoder, type Frame } from './frame.ts';

export type FrameMatch = (frame: Frame) => boolean;

export interface FrameSocketOptions {
  /** Sees every frame as it arrives, before next() may take it (a server answering, a client recording). */
  readonly onFrame?: (frame: Frame, socket: FrameSocket) => void;
  /** Frames kept for next() at most. Default: unbounded. */
  readonly keep?: number;
  /** Largest PDU accepted, header included. Default DEFAULT_MAX_PDU_LENGTH. */
  readonly maxPduLength?: number;
}

interface Waiter {
  readonly match: FrameMatch;
  readonly resolve: (frame: Frame) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

const any: FrameMatch = () => true;

export class FrameSocket {
  /** Frames received and not taken yet, oldest first. */
  readonly kept: Frame[] = [];
  private readonly waiters = new Set<Waiter>();
  private reason: Error | undefined;
  /** Resolves once the socket has closed. */
  readonly ended: Promise<void>;

  constructor(
    readonly socket: Socket,
    private readonly options: FrameSocketOptions = {},
  ) {
    const decoder = new FrameDecoder(options.maxPduLength === undefined ? {} : { maxPduLength: options.maxPduLength });
    this.ended = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        this.fail(err as Error);
        socket.destroy();
        return;
      }
      // A frame's body is a view into `chunk`: each one handed out gets its own copy.
      for (const frame of frames) {
        if (this.failure) return;
        this.deliver({ ...frame, body: Buffer.from(frame.body) });
      }
    });
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new ConnectionError('CONN_CLOSED', 'the peer closed the connection')));
  }

  /**
   * Connects to `host:port`. Rejects with the socket's error (its `code`, e.g. ECONNREFUSED) or, after
   * `timeoutMs` when given, with ConnectionError CONN_TIMEOUT.
   */
  static connect(host: string, port: number, timeoutMs?: number, options?: FrameSocketOptions): Promise<FrameSocket> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host, port, noDelay: true });
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              socket.destroy();
              reject(new ConnectionError('CONN_TIMEOUT', `no TCP connection within ${timeoutMs} ms`));
            }, timeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new FrameSocket(socket, options));
      });
    });
  }

  /** Why the socket ended (the first failure), or undefined while it is open. */
  get failure(): Error | undefined {
    return this.reason;
  }

  /** Whether the socket ended (closed by either side, or failed). */
  get closed(): boolean {
    return this.reason !== undefined;
  }

  write(bytes: Uint8Array): void {
    if (!this.failure) this.socket.write(bytes);
  }

  /**
   * The first kept or coming frame that `match` accepts, taken. Rejects with `timeoutError()` (default: a
   * ConnectionError REQUEST_TIMEOUT) after `timeoutMs`, or with the failure that ends the socket first.
   */
  next(match: FrameMatch = any, timeoutMs = 2000, timeoutError?: () => Error): Promise<Frame> {
    const i = this.kept.findIndex(match);
    if (i >= 0) return Promise.resolve(this.kept.splice(i, 1)[0]!);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(
            timeoutError?.() ?? new ConnectionError('REQUEST_TIMEOUT', `no matching frame within ${timeoutMs} ms`),
          );
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Destroys the socket; waits fail with `reason` (default CONN_CLOSED). Resolves once it is closed. */
  close(reason: Error = new ConnectionError('CONN_CLOSED', 'closed')): Promise<void> {
    this.fail(reason);
    this.socket.destroy();
    return this.ended;
  }

  private deliver(frame: Frame): void {
    this.options.onFrame?.(frame, this);
    for (const w of this.waiters) {
      if (!w.match(frame)) continue;
      clearTimeout(w.timer);
      this.waiters.delete(w);
      w.resolve(frame);
      return;
    }
    this.kept.push(frame);
    if (this.options.keep !== undefined && this.kept.length > this.options.keep) this.kept.shift();
  }

  private fail(err: Error): void {
    if (this.reason) return;
    this.reason = err;
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.waiters.clear();
  }
}
