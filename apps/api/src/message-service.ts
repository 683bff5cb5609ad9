/**
 * The API side of the queue: accepts messages into their conversation lanes, reads statuses,
 * cancels, and waits for completions (published by workers on P:done for messages marked notify).
 */
/** Lanes one activation job carries at most: a worker sends them concurrently. */
const LANES_PER_JOB = 64;
import type { Redis } from 'ioredis';
import { Keys, conversationOf, LANE_JOB, JOB_PRIORITY, MESSAGE_ID } from '@ttpush/contract';
import { LaneQueues, type LaneJobSpec } from '@ttpush/store';
import { DEFAULT_PARTITIONS } from '@ttpush/contract';
import { defineScripts, type ScriptedRedis } from '@ttpush/store';
import { DEFAULT_RECORD_TTL_MS, parseRecord, toView, type MessageRecord } from '@ttpush/store';
import { IdempotencyKeyReusedError, submitFingerprint } from './idempotency.ts';
import { newMessageId } from '@ttpush/contract';
import { LIVE_HEARTBEAT_MS } from '@ttpush/store';
import { RECENT_INDEX_SIZE, listMessages, type ListPage, type ListQuery } from '@ttpush/store';
import { ServiceUnavailableError } from '@ttpush/store';
import {
  TERMINAL_STATUSES,
  type CancelResult,
  type DbProxyHealthView,
  type HealthReport,
  type Owner,
  type MessageView,
  type SubmitRequest,
  type SubmitResult,
} from '@ttpush/contract';

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

function unavailable(err: unknown): never {
  if (err instanceof ServiceUnavailableError) throw err;
  throw new ServiceUnavailableError(`Redis is unavailable: ${(err as Error).message}`, { cause: err });
}

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
  private readonly redis: ScriptedRedis;
  readonly keys: Keys;
  readonly queues: LaneQueues;
  private readonly waiters = new Map<string, Set<() => void>>();
  private subscribed: Promise<unknown> | undefined;
  private pendingAdds: { conv: string; priority: keyof typeof JOB_PRIORITY }[] = [];
  private adding: Promise<void> = Promise.resolve();

  constructor(private readonly opts: RedisMessageServiceOptions) {
    this.redis = defineScripts(opts.redis);
    this.keys = new Keys(opts.prefix, opts.partitions ?? DEFAULT_PARTITIONS);
    // Queue errors surface per call as ServiceUnavailableError.
    this.queues = new LaneQueues(opts.queueConnection, opts.prefix, this.keys.partitions);
    opts.subscriber.on('message', (_channel: string, id: string) => this.wake(id));
  }

  async submit(req: SubmitRequest): Promise<SubmitResult> {
    const now = Date.now();
    const conv = conversationOf(req.from, req.to);
    const p = this.keys.partition(conv);
    const id = newMessageId(now, p);
    const scheduled = req.sendAt !== undefined && req.sendAt > now;
    const fields: (string | number)[] = [
      'f', req.from,
      'tt', 'group' in req.to ? 'g' : 'u',
      'to', 'group' in req.to ? req.to.group : req.to.user,
      'x', req.text,
      'p', req.priority,
      's', scheduled ? 'scheduled' : 'queued',
      'a', 0,
      'ca', now,
      'ua', now,
      'app', req.app,
      'c', conv,
    ]; // prettier-ignore
    if (req.sendAt !== undefined) fields.push('sa', req.sendAt);
    if (req.deadline !== undefined) fields.push('dl', req.deadline);
    if (req.metadata) fields.push('md', JSON.stringify(req.metadata));
    if (req.notify) fields.push('n', '1');
    if (req.key !== undefined) fields.push('k', req.key);
    if (req.callbackUrl) fields.push('cb', req.callbackUrl);
    if (req.withParts) fields.push('pp', '1');
    const k = this.keys;
    const idem = req.idempotencyKey ? k.idempotency(req.app, req.idempotencyKey, p) : `${k.tag(p)}:idem:-`;
    const keyIndexed = req.listByKey === true && req.key !== undefined;
    const keyIndex = keyIndexed ? k.keyIndex(req.key!, p) : `${k.tag(p)}:ix:k:-`;
    const ttl = this.opts.recordTtlMs ?? DEFAULT_RECORD_TTL_MS;
    let result: [number, string, number];
    try {
      result = await this.redis.ttAccept(
        k.message(id), k.lane(conv), k.lanes(p), idem, k.depth(p), k.scheduled(p),
        k.appIndex(req.app, p), keyIndex, k.recentIndex(p),
        id, conv, now, req.idempotencyKey ? '1' : '0', scheduled ? req.sendAt! : '',
        req.idempotencyKey ? submitFingerprint(req) : '', now - ttl, ttl, keyIndexed ? '1' : '0', RECENT_INDEX_SIZE,
        ...fields,
      ); // prettier-ignore
    } catch (err) {
      unavailable(err);
    }
    const [created, firstId, laneLength] = result;
    if (created === 2) {
      throw new IdempotencyKeyReusedError(
        `this Idempotency-Key was first used for message ${firstId}, with another request`,
        firstId,
      );
    }
    if (created === 0) {
      // A repeat that waits for the outcome needs the worker to announce it, even if the first did not wait.
      if (req.notify) {
        try {
          if (await this.redis.hexists(k.message(firstId), 's')) await this.redis.hset(k.message(firstId), 'n', '1');
        } catch (err) {
          unavailable(err);
        }
      }
      const view = await this.get(firstId);
      if (view) return { view, duplicate: true };
      // The first message's record expired before its idempotency key: treat as new is wrong; report it as gone.
      throw new ServiceUnavailableError('the message of this Idempotency-Key is no longer available');
    }
    if (laneLength === 1) this.activate(conv, req.priority);
    const record: MessageRecord = {
      id, from: req.from, to: req.to, text: req.text, priority: req.priority,
      status: scheduled ? 'scheduled' : 'queued', attempts: 0, createdAt: now, updatedAt: now,
      sendAt: req.sendAt ?? null, deadline: req.deadline ?? null, sentAt: null, msgId: null, errorCode: null, errorMessage: null,
      metadata: req.metadata ?? null, app: req.app, notify: !!req.notify, conv, createTime: null, floor: null,
      callbackUrl: req.callbackUrl ?? null, ...(req.withParts && { withParts: true }),
    }; // prettier-ignore
    return { view: toView(record), duplicate: false };
  }

  /**
   * Adds the job that makes a worker send a conversation's lane. Adds are gathered per tick and sent with one
   * addBulk; the caller does not wait: the message is already safe in its lane, and the workers' reconciler
   * activates a lane whose job was never added.
   */
  activate(conv: string, priority: keyof typeof JOB_PRIORITY): void {
    this.pendingAdds.push({ conv, priority });
    if (this.pendingAdds.length === 1) setImmediate(() => this.flushAdds());
  }

  /**
   * One job per partition and priority for the lanes activated in this tick: BullMQ's cost is paid per job, not
   * per message. Each partition's jobs go to its own queue (one addBulk each: a queue's keys share one slot).
   */
  private flushAdds(): void {
    const pending = this.pendingAdds;
    this.pendingAdds = [];
    if (pending.length === 0) return;
    const groups = new Map<string, { partition: number; priority: keyof typeof JOB_PRIORITY; convs: string[] }>();
    for (const { conv, priority } of pending) {
      const partition = this.keys.partition(conv);
      const key = `${partition}.${priority}`;
      const g = groups.get(key) ?? { partition, priority, convs: [] };
      g.convs.push(conv);
      groups.set(key, g);
    }
    const byPartition = new Map<number, LaneJobSpec<typeof LANE_JOB>[]>();
    for (const { partition, priority, convs } of groups.values()) {
      const jobs = byPartition.get(partition) ?? [];
      for (let i = 0; i < convs.length; i += LANES_PER_JOB) {
        jobs.push({
          name: LANE_JOB,
          data: { convs: convs.slice(i, i + LANES_PER_JOB) },
          opts: { priority: JOB_PRIORITY[priority], removeOnComplete: true, removeOnFail: true },
        });
      }
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
    let h: Record<string, string>;
    try {
      h = await this.redis.hgetall(this.keys.message(id));
    } catch (err) {
      unavailable(err);
    }
    const r = parseRecord(id, h);
    return r ? toView(r) : null;
  }

  /** One page of messages newest first (message-list.ts). */
  async list(query: ListQuery): Promise<ListPage> {
    try {
      return await listMessages(this.redis, this.keys, query);
    } catch (err) {
      unavailable(err);
    }
  }

  async owner(id: string): Promise<Owner | null> {
    if (!MESSAGE_ID.test(id)) return null;
    let row: (string | null)[];
    try {
      row = await this.redis.hmget(this.keys.message(id), 'app', 'k');
    } catch (err) {
      unavailable(err);
    }
    const [app, key] = row;
    return app == null ? null : { app, key: key || null };
  }

  async cancel(id: string): Promise<CancelResult> {
    const view = await this.get(id);
    if (!view) return { ok: false, reason: 'not_found' };
    const k = this.keys;
    const conv = conversationOf(view.from, view.to);
    const p = k.partition(conv);
    let r: [number, string?];
    try {
      r = await this.redis.ttCancel(
        k.message(id),
        k.lane(conv),
        k.scheduled(p),
        k.depth(p),
        id,
        Date.now(),
        k.doneChannel,
        this.opts.recordTtlMs ?? DEFAULT_RECORD_TTL_MS,
      );
    } catch (err) {
      unavailable(err);
    }
    const after = (await this.get(id)) ?? view;
    if (r[0] === 1) return { ok: true, view: after };
    if (r[0] === -1) return { ok: false, reason: 'not_found' };
    return { ok: false, reason: 'not_cancellable', view: after };
  }

  async waitForTerminal(id: string, timeoutMs: number): Promise<MessageView | null> {
    await this.ensureSubscribed();
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

  private ensureSubscribed(): Promise<unknown> {
    this.subscribed ??= this.opts.subscriber.subscribe(this.keys.doneChannel).catch((err: unknown) => {
      this.subscribed = undefined;
      unavailable(err);
    });
    return this.subscribed;
  }

  async health(): Promise<HealthReport> {
    const now = Date.now();
    try {
      await this.redis.ping();
      const ids = await this.redis.zrangebyscore(this.keys.workers, now - LIVE_HEARTBEAT_MS, '+inf');
      // One GET per worker rather than MGET: on a cluster the workers' keys lie on different slots.
      const states = await Promise.all(ids.map((id) => this.redis.get(this.keys.worker(id))));
      const workers = ids.flatMap((id, i) => {
        const raw = states[i];
        if (!raw) return [];
        const s = JSON.parse(raw) as {
          at: number;
          dbProxyReady: boolean;
          routeReady: boolean;
          connections: unknown;
          dbProxy?: unknown;
        };
        return [
          {
            id,
            dbProxyReady: s.dbProxyReady,
            routeReady: s.routeReady,
            seenMsAgo: now - s.at,
            connections: s.connections,
            ...(Array.isArray(s.dbProxy) ? { dbProxy: s.dbProxy as DbProxyHealthView[] } : {}),
          },
        ];
      });
      return { redis: true, workers };
    } catch {
      return { redis: false, workers: [] };
    }
  }

  async queueDepth(): Promise<number> {
    try {
      const depths = await Promise.all(this.keys.all.map((p) => this.redis.get(this.keys.depth(p))));
      return depths.reduce((sum, d) => sum + Number(d ?? 0), 0);
    } catch (err) {
      unavailable(err);
    }
  }

  /** Worker counters flushed to Redis (P:stats), for the API's /metrics. */
  async stats(): Promise<Record<string, number>> {
    try {
      const h = await this.redis.hgetall(this.keys.stats);
      return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Number(v)]));
    } catch (err) {
      unavailable(err);
    }
  }

  async close(): Promise<void> {
    for (const set of this.waiters.values()) for (const w of [...set]) w();
    this.flushAdds();
    await this.adding;
    await this.queues.close();
  }
}
