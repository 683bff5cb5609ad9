/**
 * Frames received on one or more test sockets, kept in arrival order, with a bounded wait for the
 * next one that matches.
 */
import type { Frame } from '@ttpush/pdu';

interface Waiter {
  match: (frame: Frame) => boolean;
  resolve: (frame: Frame) => void;
  timer: NodeJS.Timeout;
}

export class FrameInbox {
  readonly frames: Frame[] = [];
  private taken = new Set<Frame>();
  private waiters: Waiter[] = [];

  add(frame: Frame): void {
    // Keep a copy: a frame's body is a view into a receive buffer.
    const copy: Frame = { ...frame, body: Buffer.from(frame.body) };
    this.frames.push(copy);
    const waiter = this.waiters.find((w) => w.match(copy));
    if (waiter) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      clearTimeout(waiter.timer);
      this.taken.add(copy);
      waiter.resolve(copy);
    }
  }

  /** The first frame of `commandId` not taken yet (already received or still to come), within `ms`. */
  next(commandId: number, ms = 5000): Promise<Frame> {
    const match = (f: Frame) => f.commandId === commandId;
    const ready = this.frames.find((f) => match(f) && !this.taken.has(f));
    if (ready) {
      this.taken.add(ready);
      return Promise.resolve(ready);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        reject(new Error(`no frame 0x${commandId.toString(16).padStart(4, '0')} within ${ms} ms`));
      }, ms);
      this.waiters.push({ match, resolve, timer });
    });
  }

  count(commandId: number): number {
    return this.frames.filter((f) => f.commandId === commandId).length;
  }

  /** Fails every pending wait at once (test teardown). */
  clear(): void {
    for (const w of this.waiters) clearTimeout(w.timer);
    this.waiters = [];
  }
}
