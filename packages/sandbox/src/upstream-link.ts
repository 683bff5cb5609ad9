/**
 * msg_server's own connection to db_proxy_server or route_server: connects over TCP like the real
 * one, heartbeats when idle, closes when the peer is silent, reconnects with a doubling delay, and
 * stops sending new work after OTHER_STOP_RECV_PACKET until it has reconnected.
 */
import { connect, type Socket } from 'node:net';
import { CommandId, DEFAULT_MAX_PDU_LENGTH, FrameDecoder, commandName, encodePdu, type Frame } from '@ttpush/pdu';
import type { Logger, TimerHandle, Timers } from '@ttpush/pdu';
import { OutputBuffer } from './output-buffer.ts';
import type { SandboxTiming } from './timing.ts';

export type LinkStatus = 'connecting' | 'ready' | 'draining' | 'closed';

export interface UpstreamLinkOptions {
  name: string;
  host: string;
  port: number;
  timers: Timers;
  logger: Logger;
  timing: SandboxTiming;
  onFrame: (frame: Frame) => void;
  maxPduLength?: number;
}

const HEARTBEAT_PDU = encodePdu(CommandId.OTHER_HEARTBEAT, {});

export class UpstreamLink {
  private socket: Socket | undefined;
  private decoder: FrameDecoder;
  private readonly out = new OutputBuffer();
  private flushScheduled = false;
  private state: LinkStatus = 'closed';
  private stopped = true;
  private attempt = 0;
  private retryTimer: TimerHandle | undefined;
  private checkTimer: TimerHandle | undefined;
  private lastRecv = 0;
  private lastSend = 0;
  private waiters: { ready: () => void; cancel: (err: Error) => void }[] = [];

  constructor(private readonly opts: UpstreamLinkOptions) {
    this.decoder = new FrameDecoder({ maxPduLength: opts.maxPduLength ?? DEFAULT_MAX_PDU_LENGTH });
  }

  get status(): LinkStatus {
    return this.state;
  }

  /** Connected and not told to stop sending. */
  get ready(): boolean {
    return this.state === 'ready';
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.checkTimer = this.opts.timers.setInterval(() => this.check(), this.opts.timing.checkIntervalMs);
    this.connectNow();
  }

  /** Closes the connection for good (until `start()`). */
  stop(): void {
    this.stopped = true;
    if (this.retryTimer !== undefined) this.opts.timers.clearTimeout(this.retryTimer);
    if (this.checkTimer !== undefined) this.opts.timers.clearInterval(this.checkTimer);
    this.retryTimer = undefined;
    this.checkTimer = undefined;
    this.socket?.destroy();
    this.socket = undefined;
    this.setStatus('closed');
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.cancel(new Error(`msg_server: ${this.opts.name} link stopped`));
  }

  /** Resolves once ready; rejects after `timeoutMs` of real time. */
  whenReady(timeoutMs: number): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        ready: () => {
          clearTimeout(timer);
          resolve();
        },
        cancel: (err: Error) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`msg_server: no ${this.opts.name} connection to ${this.opts.host}:${this.opts.port}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Queues a PDU; false (and nothing sent) when the link is not ready. */
  sendFrame(commandId: number, seqNum: number, body: Uint8Array): boolean {
    if (!this.ready) return false;
    this.out.pushFrame(commandId, seqNum, body);
    this.scheduleFlush();
    return true;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const bytes = this.out.take();
    if (!bytes || !this.socket || this.state === 'closed' || this.state === 'connecting') return;
    this.lastSend = this.opts.timers.now();
    this.socket.write(bytes);
  }

  private connectNow(): void {
    this.retryTimer = undefined;
    if (this.stopped) return;
    this.setStatus('connecting');
    this.decoder = new FrameDecoder({ maxPduLength: this.decoder.maxPduLength });
    const socket = connect({ host: this.opts.host, port: this.opts.port, noDelay: true });
    this.socket = socket;
    socket.on('connect', () => {
      if (this.socket !== socket) return;
      this.attempt = 0;
      const now = this.opts.timers.now();
      this.lastRecv = now;
      this.lastSend = now;
      this.setStatus('ready');
    });
    socket.on('data', (chunk: Buffer) => {
      if (this.socket !== socket) return;
      this.lastRecv = this.opts.timers.now();
      let frames: Frame[];
      try {
        frames = this.decoder.push(chunk);
      } catch (err) {
        this.opts.logger.warn({ link: this.opts.name, err }, 'msg_server: framing fault from upstream: closing');
        socket.destroy();
        return;
      }
      for (const frame of frames) {
        if (frame.commandId === CommandId.OTHER_HEARTBEAT) continue;
        if (frame.commandId === CommandId.OTHER_STOP_RECV_PACKET) {
          this.opts.logger.info({ link: this.opts.name }, 'msg_server: upstream asked to stop sending');
          if (this.state === 'ready') this.setStatus('draining');
          continue;
        }
        try {
          this.opts.onFrame(frame);
        } catch (err) {
          this.opts.logger.error(
            { link: this.opts.name, command: commandName(frame.commandId), err },
            'msg_server: upstream frame handler failed',
          );
        }
      }
    });
    socket.on('error', (err) => this.opts.logger.debug({ link: this.opts.name, err }, 'msg_server: upstream error'));
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.out.take();
      if (this.stopped) return;
      this.setStatus('connecting');
      const delay = Math.min(this.opts.timing.reconnectMs * 2 ** this.attempt, this.opts.timing.reconnectMaxMs);
      this.attempt++;
      this.retryTimer = this.opts.timers.setTimeout(() => this.connectNow(), delay);
    });
  }

  private check(): void {
    const socket = this.socket;
    if (!socket || (this.state !== 'ready' && this.state !== 'draining')) return;
    const now = this.opts.timers.now();
    if (now - this.lastRecv >= this.opts.timing.idleTimeoutMs) {
      this.opts.logger.warn({ link: this.opts.name }, 'msg_server: upstream silent: reconnecting');
      socket.destroy();
      return;
    }
    if (now - this.lastSend >= this.opts.timing.heartbeatMs) {
      this.lastSend = now;
      socket.write(HEARTBEAT_PDU);
    }
  }

  private setStatus(status: LinkStatus): void {
    if (this.state === status) return;
    this.state = status;
    this.opts.logger.debug({ link: this.opts.name, status }, 'msg_server: upstream link');
    if (status === 'ready') {
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w.ready();
    }
  }
}
