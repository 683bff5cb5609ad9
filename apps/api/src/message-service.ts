/**
 * The API side of the queue: accepts messages into their conversation lanes, reads statuses,
 * cancels, and waits for completions (published by workers on P:done for messages marked notify).
 */
import type { Redis } from 'ioredis';
import {
  DEFAULT_PARTITIONS,
  JOB_PRIORITY,
  Keys,
  LANE_JOB,
  MESSAGE_ID,
  TERMINAL_STATUSES,
  conversationOf,
  newMessageId,
  type DbProxyHealthView,
  type HealthReport,
  type MessageView,
  type Owner,
  type Priority,
  type SubmitRequest,
} from '@ttpush/contract';
import {
  DoneChannel,
  LaneQueues,
  type DoneNotice,
  MessageStore,
  ServiceUnavailableError,
  StatsStore,
  toView,
  type ListPage,
  type ListQuery,
  type LaneJobSpec,
} from '@ttpush/store';
import { IdempotencyKeyReusedError, submitFingerprint } from './idempotency.ts';

export interface RedisMessageServiceOptions {
  /** Commands: fail fast (see producerRedis). */
  redis: Redis;
  /** A second connection for the completion subscription (a subscribed connection serves nothing else). */
  subscriber: Redis;
  prefix: string;
  /** BullMQ's connection (its own ioredis instance). */
  queueConnection: Redis;
  /** TTPUSH_REDIS_PARTITIONS (default DEFAULT_PARTITIONS). */
  partitions?: number;
  /**
   * TTPUSH_RECORD_TTL: how long finished (and cancelled) records are kept (default DEFAULT_RECORD_TTL_MS); the list's
   * indexes keep entries as long.
   */
  recordTtlMs?: number;
}

export interface SubmitOptions {
  /**
   * Waits up to this long (ms, from the accept) for the message's outcome: SubmitResult.outcome. Needs req.notify (only
   * then does a worker announce the completion). The wait is registered before the accept, so no completion is missed.
   */
  waitMs?: number;
}

/** A message's state as a waiter learns it: from the worker's done notice (no record read), or from its record. */
export type WaitOutcome = Pick<MessageView, 'id' | 'status' | 'msg_id'> & {
  error: { code: string; message?: string } | null;
};

export interface SubmitResult {
  view: MessageView;
  /** True when the Idempotency-Key matched an earlier message: nothing new was queued. */
  duplicate: boolean;
  /**
   * With SubmitOptions.waitMs: the outcome once terminal; when the wait runs out, the view as submit answered it (not
   * terminal); null when the record is gone. Rejects (ServiceUnavailableError) only when a read it needs fails.
   */
  outcome?: Promise<WaitOutcome | null>;
}

export type CancelResult =
  { ok: true; view: MessageView } | { ok: false; reason: 'not_found' | 'not_cancellable'; view?: MessageView };

/** What the HTTP API needs from the queue. Every method throws ServiceUnavailableError when Redis is down. */
export interface MessageService {
  submit(req: SubmitRequest, opts?: SubmitOptions): Promise<SubmitResult>;
  get(id: string): Promise<MessageView | null>;
  /** The app and key id that sent a message (key null for records from before keys were recorded). */
  owner(id: string): Promise<Owner | null>;
  cancel(id: string): Promise<CancelResult>;
  /** One page of messages newest first (GET /v1/messages, the console). */
  list(query: ListQuery): Promise<ListPage>;
  /** Resolves with the view once terminal, or the current view when `timeoutMs` runs out. */
  waitForTerminal(id: string, timeoutMs: number): Promise<MessageView | null>;
  health(): Promise<HealthReport>;
  /** Messages accepted and not yet terminal. */
  queueDepth(): Promise<number>;
}

export class RedisMessageService implements MessageService {
  private readonly store: MessageStore;
  readonly queues: LaneQueues;
  private readonly done: DoneChannel;
  private readonly statsStore: StatsStore;
  private readonly waiters: Waiters = new Map();
  /** Take jobs to add at the end of this tick, one per partition and priority (keyed `partition.priority`). */
  private pendingTakes = new Map<string, { partition: number; priority: Priority }>();
  private adding: Promise<void> = Promise.resolve();

  constructor(opts: RedisMessageServiceOptions) {
    const keys = new Keys(opts.prefix, opts.partitions ?? DEFAULT_PARTITIONS);
    this.store = new MessageStore(opts.redis, keys, { recordTtlMs: opts.recordTtlMs });
    this.statsStore = new StatsStore(opts.redis, opts.prefix);
    // Queue errors surface per call as ServiceUnavailableError.
    this.queues = new LaneQueues(opts.queueConnection, opts.prefix, keys.partitions);
    this.done = new DoneChannel(opts.subscriber, keys, (notice) => this.wake(notice));
  }

  async submit(req: SubmitRequest, opts: SubmitOptions = {}): Promise<SubmitResult> {
    const { waitMs } = opts;
    if (waitMs !== undefined && !req.notify) throw new Error('submit: waitMs needs req.notify');
    // Subscribed before the accept: a completion, which can only follow the accept, is published to us.
    if (waitMs !== undefined) await this.done.subscribe();
    const now = Date.now();
    const conv = conversationOf(req.from, req.to);
    const id = newMessageId(now, this.store.keys.partition(conv));
    const fingerprint = req.idempotencyKey ? submitFingerprint(req) : undefined;
    // Listening for the id before the accept: its notice cannot come before we can hear it, nor need a read after.
    const waiter = waitMs === undefined ? undefined : new Waiter(id, this.waiters);
    let result;
    try {
      result = await this.store.accept({ id, conv, now, request: req, fingerprint });
    } catch (err) {
      waiter?.stop();
      throw err;
    }
    if (result.status !== 'accepted') waiter?.stop();
    if (result.status === 'key_reused') {
      throw new IdempotencyKeyReusedError(
        `this Idempotency-Key was first used for message ${result.firstId}, with another request`,
        result.firstId,
      );
    }
    if (result.status === 'repeat') return this.repeat(req, result.firstId, waitMs);
    if (result.takeJob) this.activate(this.store.keys.partition(conv), req.priority);
    const view = toView(result.record);
    if (waiter === undefined) return { view, duplicate: false };
    return { view, duplicate: false, outcome: this.outcome(waiter, view, waitMs!) };
  }

  /** The answer to a repeat of an Idempotency-Key's request: the first message (read once), waited for if asked. */
  private async repeat(req: SubmitRequest, firstId: string, waitMs: number | undefined): Promise<SubmitResult> {
    // Listening before the notify mark: a completion after the mark is heard, one before it is seen by the read.
    const waiter = waitMs === undefined ? undefined : new Waiter(firstId, this.waiters);
    try {
      // A repeat that waits for the outcome needs the worker to announce it, even if the first did not wait.
      if (req.notify) await this.store.notifyOnCompletion(firstId);
      const view = await this.get(firstId);
      // The first message's record expired before its idempotency key: treat as new is wrong; report it as gone.
      if (!view) throw new ServiceUnavailableError('the message of this Idempotency-Key is no longer available');
      if (waiter === undefined) return { view, duplicate: true };
      if (TERMINAL_STATUSES.has(view.status)) {
        waiter.stop();
        return { view, duplicate: true, outcome: Promise.resolve(view) };
      }
      return { view, duplicate: true, outcome: this.outcome(waiter, view, waitMs!) };
    } catch (err) {
      waiter?.stop();
      throw err;
    }
  }

  /**
   * What `waiter` hears within `waitMs`: the outcome its notice carries, or the record's view for a bare id (a worker
   * of an earlier version); `current` when the wait runs out. Marked handled: a caller that never awaits it (its
   * request failed meanwhile) leaves no unhandled rejection.
   */
  private outcome(waiter: Waiter, current: MessageView, waitMs: number): Promise<WaitOutcome | null> {
    const p = (async (): Promise<WaitOutcome | null> => {
      const notice = await waiter.hear(waitMs);
      if (notice === null) return current;
      const o = notice.outcome;
      if (o === null) return this.get(notice.id);
      return {
        id: notice.id,
        status: o.status,
        msg_id: o.msgId,
        error: o.errorCode === null ? null : { code: o.errorCode },
      };
    })();
    p.catch(() => undefined);
    return p;
  }

  /**
   * Adds the take job that makes a worker send the conversations of a partition's activations list (lane-take.lua),
   * asked for by the accept that made that list non-empty while no worker was taking it: one job per burst of
   * activations, not one per message. Adds are gathered per tick (one per partition and priority) and sent with one
   * addBulk per partition; the caller does not wait: the message is already safe in its lane, and the workers'
   * reconciler adds a take job for a list left without one.
   */
  activate(partition: number, priority: Priority): void {
    this.pendingTakes.set(`${partition}.${priority}`, { partition, priority });
    if (this.pendingTakes.size === 1) setImmediate(() => this.flushAdds());
  }

  private flushAdds(): void {
    const pending = this.pendingTakes;
    this.pendingTakes = new Map();
    if (pending.size === 0) return;
    const byPartition = new Map<number, LaneJobSpec<typeof LANE_JOB>[]>();
    for (const { partition, priority } of pending.values()) {
      const jobs = byPartition.get(partition) ?? [];
      jobs.push({
        name: LANE_JOB,
        data: { take: priority, partition },
        opts: { priority: JOB_PRIORITY[priority], removeOnComplete: true, removeOnFail: true },
      });
      byPartition.set(partition, jobs);
    }
    const previous = this.adding;
    this.adding = Promise.all([
      previous,
      ...[...byPartition].map(([partition, jobs]) => this.queues.partition(partition).addBulk(jobs)),
    ]).then(
      () => undefined,
      () => undefined,
    );
  }

  async get(id: string): Promise<MessageView | null> {
    if (!MESSAGE_ID.test(id)) return null;
    const r = await this.store.record(id);
    return r ? toView(r) : null;
  }

  /** One page of messages newest first (store message-list.ts). */
  list(query: ListQuery): Promise<ListPage> {
    return this.store.list(query);
  }

  async owner(id: string): Promise<Owner | null> {
    if (!MESSAGE_ID.test(id)) return null;
    return this.store.owner(id);
  }

  async cancel(id: string): Promise<CancelResult> {
    const view = await this.get(id);
    if (!view) return { ok: false, reason: 'not_found' };
    const r = await this.store.cancel(id, conversationOf(view.from, view.to));
    const after = (await this.get(id)) ?? view;
    if (r.status === 'cancelled') return { ok: true, view: after };
    if (r.status === 'missing') return { ok: false, reason: 'not_found' };
    return { ok: false, reason: 'not_cancellable', view: after };
  }

  async waitForTerminal(id: string, timeoutMs: number): Promise<MessageView | null> {
    if (timeoutMs <= 0) return this.get(id);
    await this.done.subscribe();
    // Listening before the read: a completion after it is heard, one before it is seen.
    const waiter = new Waiter(id, this.waiters);
    let first: MessageView | null;
    try {
      first = await this.get(id);
    } catch (err) {
      waiter.stop();
      throw err;
    }
    if (!first || TERMINAL_STATUSES.has(first.status)) {
      waiter.stop();
      return first;
    }
    // The whole view is asked for: the notice tells only the outcome, the record the rest.
    await waiter.hear(timeoutMs);
    return this.get(id);
  }

  private wake(notice: DoneNotice): void {
    const set = this.waiters.get(notice.id);
    if (set) for (const w of [...set]) w.heard(notice);
  }

  async health(): Promise<HealthReport> {
    const now = Date.now();
    try {
      const live = await this.store.liveWorkers(now);
      const workers = live.map(({ id, beat }) => ({
        id,
        dbProxyReady: beat.dbProxyReady,
        routeReady: beat.routeReady,
        seenMsAgo: now - beat.at,
        connections: beat.connections,
        ...(Array.isArray(beat.dbProxy) ? { dbProxy: beat.dbProxy as DbProxyHealthView[] } : {}),
      }));
      return { redis: true, workers };
    } catch {
      return { redis: false, workers: [] };
    }
  }

  queueDepth(): Promise<number> {
    return this.store.queueDepth();
  }

  /** Worker counters flushed to Redis (P:stats), for the API's /metrics. */
  stats(): Promise<Record<string, number>> {
    return this.statsStore.read();
  }

  async close(): Promise<void> {
    for (const set of [...this.waiters.values()]) for (const w of [...set]) w.stop();
    this.flushAdds();
    await this.adding;
    await this.queues.close();
  }
}

type Waiters = Map<string, Set<Waiter>>;

/**
 * One wait for a message's done notice, listening from its construction: anything published after it is heard. A
 * waiter is ended by its notice, by its time running out, or by stop(); it then leaves `waiters`.
 */
class Waiter {
  private resolve: ((notice: DoneNotice | null) => void) | undefined;
  private readonly result: Promise<DoneNotice | null>;
  private timer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(
    readonly id: string,
    private readonly waiters: Waiters,
  ) {
    this.result = new Promise((resolve) => (this.resolve = resolve));
    let set = waiters.get(id);
    if (set === undefined) waiters.set(id, (set = new Set()));
    set.add(this);
  }

  /** The notice, or null when `timeoutMs` (counted from now) runs out or stop() is called first. */
  hear(timeoutMs: number): Promise<DoneNotice | null> {
    if (!this.ended) this.timer = setTimeout(() => this.end(null), Math.max(0, timeoutMs));
    return this.result;
  }

  heard(notice: DoneNotice): void {
    this.end(notice);
  }

  stop(): void {
    this.end(null);
  }

  private end(notice: DoneNotice | null): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.timer);
    const set = this.waiters.get(this.id);
    if (set !== undefined && set.delete(this) && set.size === 0) this.waiters.delete(this.id);
    this.resolve!(notice);
  }
}
