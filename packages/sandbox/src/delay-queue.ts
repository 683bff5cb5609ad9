/**
 * Items held until a due time, released in batches by one timer (not one timer per item):
 * the emulated database latency and the delay fault both go through it.
 */
import type { Timers as SandboxTimers, TimerHandle } from '@ttpush/pdu';

interface Entry<T> {
  due: number;
  order: number;
  item: T;
}

export class DelayQueue<T> {
  private heap: Entry<T>[] = [];
  private order = 0;
  private timer: TimerHandle | undefined;
  private timerDue = Infinity;

  constructor(
    private readonly timers: SandboxTimers,
    /** Receives every item due, in due order. */
    private readonly release: (items: T[]) => void,
  ) {}

  get size(): number {
    return this.heap.length;
  }

  add(due: number, item: T): void {
    this.heap.push({ due, order: this.order++, item });
    this.up(this.heap.length - 1);
    if (due < this.timerDue) this.arm();
  }

  /** Removes and returns every item due at `now` or before, in due order, without waiting for the timer. */
  takeDue(now: number): T[] {
    const due: T[] = [];
    while (this.heap.length > 0 && this.heap[0]!.due <= now) due.push(this.pop().item);
    return due;
  }

  /** Drops everything and the timer. */
  clear(): void {
    this.heap = [];
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDue = Infinity;
  }

  private arm(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    const first = this.heap[0];
    if (!first) {
      this.timer = undefined;
      this.timerDue = Infinity;
      return;
    }
    this.timerDue = first.due;
    this.timer = this.timers.setTimeout(() => this.fire(), Math.max(0, first.due - this.timers.now()));
  }

  private fire(): void {
    this.timer = undefined;
    this.timerDue = Infinity;
    const due = this.takeDue(this.timers.now());
    this.arm();
    if (due.length > 0) this.release(due);
  }

  private less(a: Entry<T>, b: Entry<T>): boolean {
    return a.due < b.due || (a.due === b.due && a.order < b.order);
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Entry<T> {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
