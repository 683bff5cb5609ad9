/**
 * db_proxy_server's pool of worker threads, emulated: `threads` threads; a free thread takes a RANDOM queued request
 * (not the oldest) and holds it for a store time drawn uniformly in [storeMs.min, storeMs.max], then completes it.
 * Completions are handed back in completion order, so the replies to one connection leave out of order.
 *
 * Invariants:
 * - at most `threads` requests are held at any (emulated) time; every submitted request is completed exactly once,
 *   unless `clear()` drops it;
 * - a request completes no sooner than `storeMs.min` after it was taken;
 * - with `maxPerSecond` > 0, two takes are at least 1000 / maxPerSecond ms apart, over all threads;
 * - each thread keeps its own time line: one that finishes at t takes its next request at t even when the timer fires
 *   late, so a coarse timer (1 ms in Node) does not lower the rate below what the store times allow.
 */
import { DelayQueue } from './delay-queue.ts';
import type { RandomSource } from './random.ts';

export interface ThreadPoolOptions {
  /** Worker threads (default 4, as the real server's config). */
  threads?: number;
  /** Store time of one request, in ms, drawn uniformly in [min, max] (default 0.3 to 3). */
  storeMs?: { min: number; max: number };
  /** Ceiling over all threads, in requests taken per second (default 0: none but the threads' own). */
  maxPerSecond?: number;
}

export const DEFAULT_THREAD_POOL = { threads: 4, storeMs: { min: 0.3, max: 3 }, maxPerSecond: 0 } as const;

type Timers = ConstructorParameters<typeof DelayQueue>[0];

interface Job<T> {
  thread: number;
  item: T;
  done: number;
}

export class DbThreadPool<T> {
  readonly threads: number;
  readonly storeMs: { readonly min: number; readonly max: number };
  readonly maxPerSecond: number;
  private readonly queue: T[] = [];
  /** Threads with nothing to do. */
  private readonly idle: number[] = [];
  /** When each thread finished its last request (emulated ms). */
  private readonly freeAt: number[];
  private readonly running: DelayQueue<Job<T>>;
  private nextTake = -Infinity;
  /** Requests held by a thread right now. */
  busy = 0;

  constructor(
    opts: ThreadPoolOptions,
    private readonly timers: Timers,
    private readonly random: RandomSource,
    /** Called once per request, in completion order, with the thread that held it. */
    private readonly complete: (item: T, thread: number) => void,
    /** Called after each group of completions released together. */
    private readonly afterBatch: () => void = () => undefined,
  ) {
    const threads = Math.floor(opts.threads ?? DEFAULT_THREAD_POOL.threads);
    const min = opts.storeMs?.min ?? DEFAULT_THREAD_POOL.storeMs.min;
    const max = opts.storeMs?.max ?? DEFAULT_THREAD_POOL.storeMs.max;
    const rate = opts.maxPerSecond ?? DEFAULT_THREAD_POOL.maxPerSecond;
    if (!(threads >= 1)) throw new RangeError(`thread pool: threads must be 1 or more, got ${opts.threads}`);
    if (!(min >= 0 && max >= min))
      throw new RangeError(`thread pool: store time must be 0 ≤ min ≤ max, got ${min}-${max}`);
    if (!(rate >= 0)) throw new RangeError(`thread pool: maxPerSecond must be 0 or more, got ${rate}`);
    this.threads = threads;
    this.storeMs = { min, max };
    this.maxPerSecond = rate;
    this.freeAt = new Array<number>(threads).fill(-Infinity);
    for (let i = 0; i < threads; i++) this.idle.push(i);
    this.running = new DelayQueue(timers, (jobs) => this.finished(jobs));
  }

  /** Requests waiting for a thread. */
  get queued(): number {
    return this.queue.length;
  }

  submit(item: T): void {
    this.queue.push(item);
    const now = this.timers.now();
    while (this.idle.length > 0 && this.queue.length > 0) {
      // A random idle thread: with a parked one among them, it must not take every request of a quiet period.
      const k = Math.floor(this.random() * this.idle.length);
      const thread = this.idle[k]!;
      this.idle[k] = this.idle[this.idle.length - 1]!;
      this.idle.pop();
      this.busy++;
      this.take(thread, Math.max(now, this.freeAt[thread]!));
    }
  }

  /** Drops every queued and held request, without completing them. */
  clear(): void {
    this.queue.length = 0;
    this.running.clear();
    this.idle.length = 0;
    for (let i = 0; i < this.threads; i++) this.idle.push(i);
    this.busy = 0;
  }

  /** `thread` (counted busy) takes a random queued request at emulated time `at`. */
  private take(thread: number, at: number): void {
    const q = this.queue;
    const k = Math.floor(this.random() * q.length);
    const item = q[k]!;
    q[k] = q[q.length - 1]!;
    q.pop();
    let start = at;
    if (this.maxPerSecond > 0) {
      start = Math.max(start, this.nextTake);
      this.nextTake = start + 1000 / this.maxPerSecond;
    }
    const { min, max } = this.storeMs;
    const done = start + min + this.random() * (max - min);
    this.running.add(done, { thread, item, done });
  }

  private finished(jobs: Job<T>[]): void {
    const now = this.timers.now();
    // A thread that fell behind catches up here: the requests it takes that are already done complete in this same
    // turn, not one per timer tick.
    for (let batch = jobs; batch.length > 0; batch = this.running.takeDue(now)) {
      for (const job of batch) {
        this.freeAt[job.thread] = job.done;
        this.complete(job.item, job.thread);
        if (this.queue.length > 0) this.take(job.thread, job.done);
        else {
          this.busy--;
          this.idle.push(job.thread);
        }
      }
    }
    this.afterBatch();
  }
}
