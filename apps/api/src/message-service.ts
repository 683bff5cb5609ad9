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

export interface SubmitResult {
  view: MessageView;
  /** True when the Idempotency-Key matched an earlier message: nothing new was queued. */
  duplicate: boolean;
}

export type CancelResult =
  { ok: true; view: MessageView } | { ok: false; reason: 'not_found' | 'not_cancellable'; view?: MessageView };

/** What the HTTP API needs from the queue. Every method throws ServiceUnavailableError when Redis is down. */
export interface MessageService {
  submit(req: SubmitRequest): Promise<SubmitResult>;
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
  private readonly waiters = new Map<string, Set<() => void>>();
  private pendingTakes = new Set<string>();
  private adding: Promise<void> = Promise.resolve();

  constructor(opts: RedisMessageServiceOptions) {
    const keys = new Keys(opts.prefix, opts.partitions ?? DEFAULT_PARTITIONS);
    this.store = new MessageStore(opts.redis, keys, { recordTtlMs: opts.recordTtlMs });
    this.statsStore = new StatsStore(opts.redis, opts.prefix);
    // Queue errors surface per call as ServiceUnavailableError.
    this.queues = new LaneQueues(opts.queueConnection, opts.prefix, keys.partitions);
    this.done = new DoneChannel(opts.subscriber, keys, (id) => this.wake(id));
  }

  async submit(req: SubmitRequest): Promise<SubmitResult> {
    const now = Date.now();
    const conv = conversationOf(req.from, req.to);
    const id = newMessageId(now, this.store.keys.partition(conv));
    const fingerprint = req.idempotencyKey ? submitFingerprint(req) : undefined;
    const result = await this.store.accept({ id, conv, now, request: req, fingerprint });
    if (result.status === 'key_reused') {
      throw new IdempotencyKeyReusedError(
        `this Idempotency-Key was first used for message ${result.firstId}, with another request`,
        result.firstId,
      );
    }
    if (result.status === 'repeat') {
      // A repeat that waits for the outcome needs the worker to announce it, even if the first did not wait.
      if (req.notify) await this.store.notifyOnCompletion(result.firstId);
      const view = await this.get(result.firstId);
      if (view) return { view, duplicate: true };
      // The first message's record expired before its idempotency key: treat as new is wrong; report it as gone.
      throw new ServiceUnavailableError('the message of this Idempotency-Key is no longer available');
    }
    if (result.takeJob) this.activate(this.store.keys.partition(conv), req.priority);
    return { view: toView(result.record), duplicate: false };
  }

  /**
   * Adds the take job that makes a worker send the conversations of a partition's activations list (lane-take.lua),
   * asked for by the accept that made that list non-empty while no worker was taking it: one job per burst of
   * activations, not one per message. Adds are gathered per tick (one per partition and priority) and sent with one
   * addBulk per partition; the caller does not wait: the message is already safe in its lane, and the workers'
   * reconciler adds a take job for a list left without one.
   */
  activate(partition: number, priority: Priority): void {
    this.pendingTakes.add(`${partition}.${priority}`);
    if (this.pendingTakes.size === 1) setImmediate(() => this.flushAdds());
  }

  private flushAdds(): void {
    const pending = this.pendingTakes;
    this.pendingTakes = new Set();
    if (pending.size === 0) return;
    const byPartition = new Map<number, LaneJobSpec<typeof LANE_JOB>[]>();
    for (const key of pending) {
      const [p, priority] = key.split('.') as [string, Priority];
      const partition = Number(p);
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
    await this.done.subscribe();
    const first = await this.get(id);
    if (!first || TERMINAL_STATUSES.has(first.status) || timeoutMs <= 0) return first;
    await new Promise<void>((resolve) => {
      const set = this.waiters.get(id) ?? new Set();
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0) this.waiters.delete(id);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      set.add(done);
      this.waiters.set(id, set);
      // A completion published between the first read and the subscription is caught by re-reading.
      this.get(id).then(
        (v) => v && TERMINAL_STATUSES.has(v.status) && done(),
        () => done(),
      );
    });
    return this.get(id);
  }

  private wake(id: string): void {
    const set = this.waiters.get(id);
    if (set) for (const w of [...set]) w();
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
    for (const set of this.waiters.values()) for (const w of [...set]) w();
    this.flushAdds();
    await this.adding;
    await this.queues.close();
  }
}
