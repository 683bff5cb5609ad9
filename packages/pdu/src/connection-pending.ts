/**
 * The requests of one connection that wait for a reply, keyed by the id the connection put into
 * `attach_data`, each with its deadline. The requests of one requestBatch() are kept together, as one group:
 * one deadline, and no object per request.
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

/**
 * The requests of one requestBatch() call: written together, so with one deadline; each one's outcome is told
 * to the batch by its tag. Member k is the k-th request written.
 */
export class PendingGroup {
  /** Per member, four int32: its id (as int32), its tag, its seq_num, 1 while it waits. One array per group. */
  private readonly members: Int32Array;
  /** Members added. */
  size = 0;
  /** Members still waiting. */
  left = 0;
  /** No member waits any more: what the deadline queue looks at. */
  done = false;

  constructor(
    readonly batch: RequestBatch,
    readonly commandId: number,
    readonly responseCommand: number,
    readonly sentAt: number,
    readonly deadline: number,
    readonly timeoutMs: number,
    /** Members it will hold at most. */
    capacity: number,
  ) {
    this.members = new Int32Array(capacity * 4);
  }

  /** Adds a waiting member; answers its index. */
  add(id: number, tag: number, seqNum: number): number {
    const m = this.size++;
    const at = m * 4;
    this.members[at] = id | 0;
    this.members[at + 1] = tag;
    this.members[at + 2] = seqNum;
    this.members[at + 3] = 1;
    this.left++;
    return m;
  }

  /** Whether member m is the one with this id. */
  is(m: number, id: number): boolean {
    return this.members[m * 4] === (id | 0);
  }

  id(m: number): number {
    return this.members[m * 4]! >>> 0;
  }

  tag(m: number): number {
    return this.members[m * 4 + 1]!;
  }

  waiting(m: number): boolean {
    return this.members[m * 4 + 3] === 1;
  }

  /** Member m no longer waits; answers whether none does now. */
  leave(m: number): boolean {
    this.members[m * 4 + 3] = 0;
    if (--this.left === 0) this.done = true;
    return this.done;
  }

  /** Member m as a request of its own: for the rare paths (a timeout, a reply decoded in full). */
  request(m: number): PendingRequest {
    return {
      id: this.id(m),
      commandId: this.commandId,
      responseCommand: this.responseCommand,
      seqNum: this.members[m * 4 + 2]!,
      sentAt: this.sentAt,
      deadline: this.deadline,
      timeoutMs: this.timeoutMs,
      resolve: undefined,
      reject: undefined,
      batch: this.batch,
      tag: this.tag(m),
      done: !this.waiting(m),
    };
  }
}

type Entry = PendingRequest | PendingGroup;

export class PendingRequests {
  /**
   * The requests by id: slot `id & mask` holds the request of that id (or its group, with the member's index in
   * `slotMember`), or another whose id shares the slot, in which case the request is in `overflow`. Ids given out
   * by free() never share a slot, so for a connection every request has its own and a lookup is one array read
   * (no Map entry made and deleted per request).
   */
  private slots: (Entry | undefined)[] = new Array<Entry | undefined>(FIRST_SLOTS);
  private slotMember = new Int32Array(FIRST_SLOTS);
  private mask = FIRST_SLOTS - 1;
  private overflow: Map<number, PendingRequest> | undefined;
  private count = 0;
  /** The member index found by the last group() that found one. */
  member = 0;
  /** Sorted by deadline from `head` on; entries before `head` are already removed. */
  private queue: Entry[] = [];
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

  /** The request with this id (a group's member as a request of its own), left in place; undefined when none waits. */
  get(id: number): PendingRequest | undefined {
    const k = id & this.mask;
    const e = this.slots[k];
    if (e instanceof PendingGroup) {
      const m = this.slotMember[k]!;
      if (e.is(m, id)) return e.request(m);
    } else if (e !== undefined && e.id === id) {
      return e;
    }
    return this.overflow?.get(id);
  }

  /** The group whose member waits under this id (its index in `member`), or undefined. */
  group(id: number): PendingGroup | undefined {
    const k = id & this.mask;
    const e = this.slots[k];
    if (!(e instanceof PendingGroup)) return undefined;
    const m = this.slotMember[k]!;
    if (!e.is(m, id)) return undefined;
    this.member = m;
    return e;
  }

  add(request: PendingRequest): void {
    if (this.count + 1 > this.slots.length >> 1) this.grow();
    const k = request.id & this.mask;
    if (this.slots[k] === undefined) this.slots[k] = request;
    else (this.overflow ??= new Map()).set(request.id, request);
    this.count++;
    this.enqueue(request);
  }

  /** Starts waiting for a group; its members are added with addMember(). */
  addGroup(group: PendingGroup): void {
    this.enqueue(group);
  }

  /** A member of `group`, under an id free() accepted (its slot is free). */
  addMember(group: PendingGroup, id: number, tag: number, seqNum: number): void {
    if (this.count + 1 > this.slots.length >> 1) this.grow();
    const k = id & this.mask;
    this.slots[k] = group;
    this.slotMember[k] = group.add(id, tag, seqNum);
    this.count++;
  }

  /** Removes and returns the request with this id, or undefined when none waits (answered, timed out, unknown). */
  take(id: number): PendingRequest | undefined {
    const group = this.group(id);
    if (group !== undefined) {
      const m = this.member;
      this.settleMember(group, m);
      return group.request(m);
    }
    const request = this.get(id);
    if (!request) return undefined;
    this.remove(request);
    request.done = true;
    this.removed();
    return request;
  }

  /** Member m of `group` got its reply: no longer waits. */
  settleMember(group: PendingGroup, m: number): void {
    this.leave(group, m);
    this.removed();
  }

  /** Removes every request and rejects each with `err` (in deadline order: the order they were sent, for one timeout). */
  failAll(err: Error): void {
    const all: PendingRequest[] = [];
    for (let i = this.head; i < this.queue.length; i++) {
      const e = this.queue[i]!;
      if (e.done) continue;
      if (e instanceof PendingGroup) {
        for (let m = 0; m < e.size; m++) if (e.waiting(m)) all.push(e.request(m));
        e.done = true;
      } else {
        all.push(e);
      }
    }
    this.slots = new Array<Entry | undefined>(FIRST_SLOTS);
    this.slotMember = new Int32Array(FIRST_SLOTS);
    this.mask = FIRST_SLOTS - 1;
    this.overflow = undefined;
    this.count = 0;
    this.reset();
    for (const request of all) {
      request.done = true;
      failRequest(request, err);
    }
  }

  private enqueue(entry: Entry): void {
    const q = this.queue;
    let at = q.length;
    // Walk back over later deadlines: nothing to walk when every request uses the same timeout.
    while (at > this.head && q[at - 1]!.deadline > entry.deadline) at--;
    if (at === q.length) q.push(entry);
    else q.splice(at, 0, entry);
    if (q.length - this.head > COMPACT_FACTOR * this.count + COMPACT_FLOOR) this.compact();
    if (entry.deadline < this.timerAt) this.arm(entry.deadline);
  }

  private remove(request: PendingRequest): void {
    const k = request.id & this.mask;
    if (this.slots[k] === request) this.slots[k] = undefined;
    else this.overflow!.delete(request.id);
    this.count--;
  }

  private leave(group: PendingGroup, m: number): void {
    this.slots[group.id(m) & this.mask] = undefined;
    group.leave(m);
    this.count--;
  }

  /** After requests left: the queue's done head dropped, or everything reset when none waits. */
  private removed(): void {
    if (this.count === 0) this.reset();
    else this.dropDoneHead();
  }

  /** Twice the slots: requests in distinct slots stay in distinct slots; some of the overflow may find its own. */
  private grow(): void {
    const old = this.slots;
    const oldMember = this.slotMember;
    this.slots = new Array<Entry | undefined>(old.length * 2);
    this.slotMember = new Int32Array(old.length * 2);
    this.mask = this.slots.length - 1;
    for (let k = 0; k < old.length; k++) {
      const e = old[k];
      if (e === undefined) continue;
      const id = e instanceof PendingGroup ? e.id(oldMember[k]!) : e.id;
      const k2 = id & this.mask;
      this.slots[k2] = e;
      this.slotMember[k2] = oldMember[k]!;
    }
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
      const e = q[this.head]!;
      if (!e.done && e.deadline > now) break;
      this.head++;
      if (e.done) continue;
      if (e instanceof PendingGroup) {
        for (let m = 0; m < e.size; m++) {
          if (!e.waiting(m)) continue;
          this.leave(e, m);
          expired.push(e.request(m));
        }
        continue;
      }
      e.done = true;
      this.remove(e);
      expired.push(e);
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
