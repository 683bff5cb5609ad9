/**
 * One accepted TCP connection of a sandbox server: framing in, batched writes out, the
 * last-heard / last-sent clock the heartbeat check reads, and in-flight accounting.
 */
import type { Socket } from 'node:net';
import { FrameDecoder, type Frame, type Timers } from '@ttpush/pdu';
import { OutputBuffer } from './output-buffer.ts';

/** Reading stops while this many bytes wait to be sent, until the socket drains (a client that does not read). */
const WRITE_BACKLOG_LIMIT = 8 * 1024 * 1024;

export interface ConnectionHost {
  readonly timers: Timers;
  /** Called for each whole frame; exceptions are caught and logged by the caller. */
  onFrame(conn: PeerConnection, frame: Frame): void;
  /** A framing fault: the connection is closed. */
  onFramingFault(conn: PeerConnection, err: unknown): void;
  onClosed(conn: PeerConnection): void;
  onHandlerError(conn: PeerConnection, frame: Frame, err: unknown): void;
}

export class PeerConnection {
  readonly remote: string;
  lastRecv: number;
  lastSend: number;
  /** Requests received and not yet answered or dropped (db_proxy). */
  inFlight = 0;
  maxInFlight = 0;
  requests = 0;
  closed = false;
  /** end() was called: nothing more is queued. */
  private ending = false;
  private readonly decoder: FrameDecoder;
  private readonly out = new OutputBuffer();
  private flushScheduled = false;
  private readonly flushBound = () => this.flush();

  constructor(
    readonly id: number,
    readonly socket: Socket,
    private readonly host: ConnectionHost,
    maxPduLength: number,
  ) {
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    this.decoder = new FrameDecoder({ maxPduLength });
    const now = host.timers.now();
    this.lastRecv = now;
    this.lastSend = now;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => socket.resume());
    socket.on('error', () => {});
    socket.on('close', () => this.onClose());
  }

  /** Queues a whole PDU; written with everything else queued in this tick. */
  send(pdu: Uint8Array): void {
    if (this.closed || this.ending) return;
    this.out.push(pdu);
    this.scheduleFlush();
  }

  /** Queues a PDU built from an encoded body. */
  sendFrame(commandId: number, seqNum: number, body: Uint8Array): void {
    if (this.closed || this.ending) return;
    this.out.pushFrame(commandId, seqNum, body);
    this.scheduleFlush();
  }

  /** Writes what was queued now. */
  flush(): void {
    this.flushScheduled = false;
    const bytes = this.out.take();
    if (!bytes || this.closed) return;
    this.lastSend = this.host.timers.now();
    this.socket.write(bytes);
    if (this.socket.writableLength > WRITE_BACKLOG_LIMIT) this.socket.pause();
  }

  /** Writes what is queued, then closes (a graceful end). */
  end(): void {
    this.flush();
    this.ending = true;
    if (!this.closed) this.socket.end();
  }

  destroy(): void {
    if (this.closed) return;
    this.socket.destroy();
    this.onClose();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(this.flushBound);
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.lastRecv = this.host.timers.now();
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.host.onFramingFault(this, err);
      this.destroy();
      return;
    }
    for (const frame of frames) {
      try {
        this.host.onFrame(this, frame);
      } catch (err) {
        this.host.onHandlerError(this, frame, err);
      }
      if (this.closed) return;
    }
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.host.onClosed(this);
  }
}
