/**
 * One short-lived TCP connection to a TeamTalk server (db_proxy_server or route_server) for the doctor:
 * connect within a deadline, write PDUs, and wait for a frame that matches, within a deadline. Nothing
 * reconnects, nothing waits without a bound: a dead address must not hang the doctor. The only doctor
 * module that touches a socket.
 */
import { connect, type Socket } from 'node:net';
import { FrameDecoder, type Frame } from '@ttpush/pdu';

export class ProbeError extends Error {
  override readonly name = 'ProbeError';
  constructor(
    readonly code:
      'PROBE_CONNECT_FAILED' | 'PROBE_CONNECT_TIMEOUT' | 'PROBE_TIMEOUT' | 'PROBE_CLOSED' | 'PROBE_BAD_FRAME',
    message: string,
  ) {
    super(message);
  }
}

interface Waiter {
  match: (frame: Frame) => boolean;
  resolve: (frame: Frame) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class ServerProbe {
  private readonly decoder = new FrameDecoder();
  private readonly waiters = new Set<Waiter>();
  /** Frames nobody waited for yet (a reply may come before its waiter is set). */
  private readonly seen: Frame[] = [];
  private failure: Error | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = this.decoder.push(chunk);
      } catch (err) {
        this.fail(
          new ProbeError(
            'PROBE_BAD_FRAME',
            `the server sent bytes that are no TeamTalk PDU: ${(err as Error).message}`,
          ),
        );
        return;
      }
      for (const frame of frames) this.deliver(frame);
    });
    socket.on('error', (err) => this.fail(new ProbeError('PROBE_CLOSED', `connection lost: ${err.message}`)));
    socket.on('close', () => this.fail(new ProbeError('PROBE_CLOSED', 'the server closed the connection')));
  }

  /** Connects, or rejects with PROBE_CONNECT_FAILED / PROBE_CONNECT_TIMEOUT within `timeoutMs`. */
  static open(host: string, port: number, timeoutMs: number): Promise<ServerProbe> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ProbeError('PROBE_CONNECT_TIMEOUT', `no TCP connection within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.setNoDelay(true);
        resolve(new ServerProbe(socket));
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new ProbeError('PROBE_CONNECT_FAILED', err.code ? `${err.code} (${err.message})` : err.message));
      });
    });
  }

  write(pdu: Buffer): void {
    if (!this.failure) this.socket.write(pdu);
  }

  /** The first frame (already received, or to come) that `match` accepts, within `timeoutMs`. */
  waitFor(match: (frame: Frame) => boolean, timeoutMs: number, what: string): Promise<Frame> {
    const i = this.seen.findIndex(match);
    if (i >= 0) return Promise.resolve(this.seen.splice(i, 1)[0]!);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new ProbeError('PROBE_TIMEOUT', `no ${what} within ${(timeoutMs / 1000).toFixed(1)} s`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  close(): void {
    this.fail(new ProbeError('PROBE_CLOSED', 'closed by the doctor'));
    this.socket.destroy();
  }

  private deliver(frame: Frame): void {
    for (const w of this.waiters) {
      if (!w.match(frame)) continue;
      clearTimeout(w.timer);
      this.waiters.delete(w);
      w.resolve(frame);
      return;
    }
    if (this.seen.length < 100) this.seen.push(frame);
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.waiters.clear();
  }
}
