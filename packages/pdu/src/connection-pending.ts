/**
 * The requests of one connection that wait for a reply, keyed by the id the connection put into
 * `attach_data`, each with its deadline.
 *
 * Timeouts use one timer for the whole connection, armed for the earliest deadline, instead of one
 * timer per request: deadlines are kept in a queue sorted by time. Requests on a connection almost
 * always share one timeout, so a new deadline is nearly always the latest and is appended; answered
 * entries stay in the queue, marked done, until they reach its head or the queue is compacted.
 */
import type { TimerHandle, Timers } from './timers.ts';
import type { RequestBatch } from './request-batch.ts';

/**
 * A request waiting for its reply: one of request() (its promise's functions) or of requestBatch() (its batch and
 * tag). Both kinds have every field, in one order, so that the code handling them sees one object shape.
 */
export interface PendingRequest {
  /** The counter half of the request's attach_data. */
  readonly id: number;
  readonly commandId: number;
  readonly responseCommand: number;
  readonly seqNum: number;
  /** When it was written, on the injected clock. */
  readonly sentAt: number;
  /** On the injected clock. */
  readonly deadline: number;
  readonly timeoutMs: number;
  /** request(): settle its promise. */
  readonly resolve: ((body: unknown) => void) | undefined;
  readonly reject: ((err: Error) => void) | undefined;
  /** requestBatch(): the batch told of its outcome, and the request's tag there. */
  readonly batch: RequestBatch | undefined;
  readonly tag: number;
  done: boolean;
}

/** Fails a request with `err`, whichever kind it is. */
export function failRequest(request: PendingRequest, err: Error): void {
  if (request.batch === undefined) request.reject!(err);
  else request.batch.failed(request.tag, err);
}

/** Compaction threshold: done entries kept beyond this many times the live ones (plus a floor). */
const COMPACT_FACTOR = 2;
const COMPACT_FLOOR = 1024;

/** Slots of the id table to begin with (a power of two); it doubles whenever it is half full. */
const FIRST_SLOTS = 1024;

export class PendingRequests {
  /**
   * The requests by id: slot `id & mask` holds the request of that id, or another whose id shares the slot, in
   * which case the request is in `overflow`. Ids given out by freeId() never share a slot, so for a connection
   * every request has its own and a lookup is one array read (no Map entry made and deleted per request).
   */
  private slots: (PendingRequest | undefined)[] = new Array<PendingRequest | undefined>(FIRST_SLOTS);
  private mask = FIRST_SLOTS - 1;
  private overflow: Map<number, PendingRequest> | undefined;
  private count = 0;
  /** Sorted by deadline from `head` on; entries before `head` are already removed. */
  private queue: PendingRequest[] = [];
  private head = 0;
  private timer: TimerHandle | undefined;
  private timerAt = Infinity;

  constructor(
    private readonly timers: Timers,
    /** Called for each expired request after it was removed; the callee rejects it. */
    private readonly onTimeout: (request: PendingRequest) => void,
  ) {}

  get size(): number {
    return this.count;
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /** Whether a request with this id would have a slot of its own: no request waits under it nor shares its slot. */
  free(id: number): boolean {
    if (this.count + 1 > this.slots.length >> 1) this.grow();
    return this.slots[id & this.mask] === undefined;
  }

  /** The request with this id, left in place; undefined when none waits. */
  get(id: number): PendingRequest | undefined {
    const r = this.slots[id & this.mask];
    if (r !== undefined && r.id === id) return r;
    return this.overflow?.get(id);
  }

  add(request: PendingRequest): void {
    if (this.count + 1 > this.slots.length >> 1) this.grow();
    const k = request.id & this.mask;
    if (this.slots[k] === undefined) this.slots[k] = request;
    else (this.overflow ??= new Map()).set(request.id, request);
    this.count++;
    const q = this.queue;
    let at = q.length;
    // Walk back over later deadlines: nothing to walk when every request uses the same timeout.
    while (at > this.head && q[at - 1]!.deadline > request.deadline) at--;
    if (at === q.length) q.push(request);
    else q.splice(at, 0, request);
    if (q.length - this.head > COMPACT_FACTOR * this.count + COMPACT_FLOOR) this.compact();
    if (request.deadline < this.timerAt) this.arm(request.deadline);
  }

  /** Removes and returns the request with this id, or undefined when none waits (answered, timed out, unknown). */
  take(id: number): PendingRequest | undefined {
    const request = this.get(id);
    if (!request) return undefined;
    this.remove(request);
    request.done = true;
    if (this.count === 0) this.reset();
    else this.dropDoneHead();
    return request;
  }

  /** Removes every request and rejects each with `err` (in deadline order: the order they were sent, for one timeout). */
  failAll(err: Error): void {
    const all: PendingRequest[] = [];
    for (let i = this.head; i < this.queue.length; i++) if (!this.queue[i]!.done) all.push(this.queue[i]!);
    this.slots = new Array<PendingRequest | undefined>(FIRST_SLOTS);
    this.mask = FIRST_SLOTS - 1;
    this.overflow = undefined;
    this.count = 0;
    this.reset();
    for (const request of all) {
      request.done = true;
      failRequest(request, err);
    }
  }

  private remove(request: PendingRequest): void {
    const k = request.id & this.mask;
    if (this.slots[k] === request) this.slots[k] = undefined;
    else this.overflow!.delete(request.id);
    this.count--;
  }

  /** Twice the slots: requests in distinct slots stay in distinct slots; some of the overflow may find its own. */
  private grow(): void {
    const old = this.slots;
    this.slots = new Array<PendingRequest | undefined>(old.length * 2);
    this.mask = this.slots.length - 1;
    for (const r of old) if (r !== undefined) this.slots[r.id & this.mask] = r;
    const overflow = this.overflow;
    if (overflow === undefined) return;
    for (const [id, r] of overflow) {
      const k = id & this.mask;
      if (this.slots[k] !== undefined) continue;
      this.slots[k] = r;
      overflow.delete(id);
    }
    if (overflow.size === 0) this.overflow = undefined;
  }

  private dropDoneHead(): void {
    const q = this.queue;
    while (this.head < q.length && q[this.head]!.done) this.head++;
    if (this.head > COMPACT_FLOOR && this.head * 2 > q.length) {
      this.queue = q.slice(this.head);
      this.head = 0;
    }
  }

  private compact(): void {
    this.queue = this.queue.slice(this.head).filter((r) => !r.done);
    this.head = 0;
  }

  private reset(): void {
    this.queue = [];
    this.head = 0;
    this.disarm();
  }

  private arm(at: number): void {
    this.disarm();
    this.timerAt = at;
    this.timer = this.timers.setTimeout(() => this.expire(), Math.max(0, at - this.timers.now()));
  }

  private disarm(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private expire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.timers.now();
    const expired: PendingRequest[] = [];
    const q = this.queue;
    while (this.head < q.length) {
      const r = q[this.head]!;
      if (!r.done && r.deadline > now) break;
      this.head++;
      if (r.done) continue;
      r.done = true;
      this.remove(r);
      expired.push(r);
    }
    if (this.count === 0) this.reset();
    else {
      this.dropDoneHead();
      const next = this.queue[this.head];
      if (next) this.arm(next.deadline);
    }
    for (const r of expired) this.onTimeout(r);
  }
}
