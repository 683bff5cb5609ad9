/**
 * Heartbeat and dead-peer detection for one TeamTalk connection (protocol notes §6: every peer sends
 * IMHeartBeat every 5 s and drops a peer it has heard nothing from for 30 s).
 *
 * Any received byte counts as life: `touch()` only records the time, so the per-chunk cost is one
 * clock read; a single timer checks the idle time when it could have run out and re-arms itself.
 */
import type { TimerHandle, Timers } from './timers.ts';

export interface KeepaliveOptions {
  readonly timers: Timers;
  readonly heartbeatIntervalMs: number;
  readonly deadAfterMs: number;
  readonly sendHeartbeat: () => void;
  /** Called once when nothing was received for `deadAfterMs`; the keepalive is stopped by then. */
  readonly onDead: (idleMs: number) => void;
}

export class Keepalive {
  private lastReceivedAt = 0;
  private heartbeatTimer: TimerHandle | undefined;
  private deadTimer: TimerHandle | undefined;

  constructor(private readonly options: KeepaliveOptions) {}

  get running(): boolean {
    return this.heartbeatTimer !== undefined;
  }

  start(): void {
    this.stop();
    const { timers, heartbeatIntervalMs, deadAfterMs } = this.options;
    this.lastReceivedAt = timers.now();
    this.heartbeatTimer = timers.setInterval(() => this.options.sendHeartbeat(), heartbeatIntervalMs);
    this.deadTimer = timers.setTimeout(() => this.check(), deadAfterMs);
  }

  /** Records that bytes arrived. */
  touch(): void {
    this.lastReceivedAt = this.options.timers.now();
  }

  stop(): void {
    const { timers } = this.options;
    if (this.heartbeatTimer !== undefined) timers.clearInterval(this.heartbeatTimer);
    if (this.deadTimer !== undefined) timers.clearTimeout(this.deadTimer);
    this.heartbeatTimer = undefined;
    this.deadTimer = undefined;
  }

  private check(): void {
    const { timers, deadAfterMs } = this.options;
    this.deadTimer = undefined;
    const idle = timers.now() - this.lastReceivedAt;
    if (idle >= deadAfterMs) {
      this.stop();
      this.options.onDead(idle);
      return;
    }
    this.deadTimer = timers.setTimeout(() => this.check(), deadAfterMs - idle);
  }
}
