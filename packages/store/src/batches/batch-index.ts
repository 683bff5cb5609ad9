/**
 * Views over many batches: the active set P:bactive (batches not known to be finished, the reconciler's safety net)
 * and the recent index P:brecent (the console's list). Each is a key of its own Cluster slot: written with
 * single-key commands, never inside a batch's script; a batch's own keys are read one batch per command or pipeline.
 */
import type { Redis } from 'ioredis';
import type { Queue } from 'bullmq';
import {
  BATCH_FIELDS as F,
  BatchKeys,
  RECENT_BATCHES,
  type BatchStatus,
  type BatchView,
  type Priority,
} from '@ttpush/contract';
import { toBatchView } from './batch-view.ts';
import { unavailable } from '../redis-errors.ts';

/** What the reconciler looks at to tell a stalled batch. */
export interface BatchProgress {
  status: BatchStatus;
  /** Last write (ms). */
  updated: number;
  chunks: number;
  /** send_at (ms), 0 when none. */
  sendAt: number;
  priority: Priority;
  finished: boolean;
}

/** A BullMQ job as the reconciler sees it: absent, live (waiting, delayed, prioritized or active), or ended. */
export type JobPresence = 'none' | 'live' | 'ended';

async function wrap<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw unavailable(err);
  }
}

export class BatchIndex {
  private readonly keys: BatchKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new BatchKeys(prefix);
  }

  /** Lists a new batch among the recent ones (its oldest trimmed). Best effort: never throws. */
  async addRecent(id: string, now: number): Promise<void> {
    const recent = this.keys.recent;
    try {
      await this.redis
        .pipeline()
        .zadd(recent, now, id)
        .zremrangebyrank(recent, 0, -(RECENT_BATCHES + 1))
        .exec();
    } catch {
      // Redis went away after the batch was created: the upload fails on its next write.
    }
  }

  /** The newest batches first (at most `limit`), from the recent index; deleted ones are left out. */
  recent(limit: number): Promise<BatchView[]> {
    return wrap(
      (async () => {
        const ids = await this.redis.zrevrange(this.keys.recent, 0, Math.max(0, limit - 1));
        // One command per batch, not a pipeline: each batch hash has a Cluster slot of its own.
        const hashes = await Promise.all(ids.map((id) => this.redis.hgetall(this.keys.batch(id))));
        return ids.flatMap((id, i) => {
          const view = toBatchView(id, hashes[i]!);
          return view ? [view] : [];
        });
      })(),
    );
  }

  /** Recipients of active batches (queued, running or paused) neither sent, failed nor cancelled. */
  backlog(): Promise<number> {
    return wrap(
      (async () => {
        const ids = await this.redis.zrange(this.keys.active, 0, RECENT_BATCHES - 1);
        const rows = await Promise.all(
          ids.map((id) => this.redis.hmget(this.keys.batch(id), F.status, F.valid, F.sent, F.failed, F.cancelled)),
        );
        let pending = 0;
        for (const [status, valid, sent, failed, cancelled] of rows) {
          if (status !== 'queued' && status !== 'running' && status !== 'paused') continue;
          pending += Math.max(0, Number(valid ?? 0) - Number(sent ?? 0) - Number(failed ?? 0) - Number(cancelled ?? 0));
        }
        return pending;
      })(),
    );
  }

  /** Lists a batch as active, a lack of progress counting from `since` (ms). */
  async activate(id: string, since: number): Promise<void> {
    await wrap(this.redis.zadd(this.keys.active, since, id));
  }

  async deactivate(id: string): Promise<void> {
    await wrap(this.redis.zrem(this.keys.active, id));
  }

  /** Active batches without progress since `before` (ms), at most `limit`. */
  stalled(before: number, limit: number): Promise<string[]> {
    return wrap(this.redis.zrangebyscore(this.keys.active, '-inf', before, 'LIMIT', 0, limit));
  }

  /** null: the batch is gone. */
  async progress(id: string): Promise<BatchProgress | null> {
    const [status, updated, chunks, sendAt, priority, finished] = await wrap(
      this.redis.hmget(this.keys.batch(id), F.status, F.updated, F.chunks, F.sendAt, F.priority, F.finished),
    );
    if (!status) return null;
    return {
      status: status as BatchStatus,
      updated: Number(updated ?? 0),
      chunks: Number(chunks ?? 0),
      sendAt: Number(sendAt ?? 0),
      priority: (priority as Priority | null) ?? 'normal',
      finished: !!finished,
    };
  }

  /** The chunks of `ns` that have recipients and no results yet: one pipeline (a batch's keys share a slot). */
  async openChunks(id: string, ns: readonly number[]): Promise<number[]> {
    const k = this.keys;
    const rows = await wrap(
      this.redis
        .pipeline(
          ns.flatMap((n) => [
            ['exists', k.results(id, n)],
            ['exists', k.chunk(id, n)],
          ]),
        )
        .exec(),
    );
    return ns.filter((_, i) => rows?.[2 * i]?.[1] === 0 && rows?.[2 * i + 1]?.[1] === 1);
  }

  /** Where jobs of one queue stand: one pipeline (a queue's keys share a slot). */
  async jobs(queue: Pick<Queue, 'toKey'>, jobIds: readonly string[]): Promise<JobPresence[]> {
    const rows = await wrap(
      this.redis.pipeline(jobIds.map((jobId) => ['hmget', queue.toKey(jobId), 'name', 'finishedOn'])).exec(),
    );
    return jobIds.map((_, i) => {
      const [name, finishedOn] = (rows?.[i]?.[1] ?? [null, null]) as (string | null)[];
      if (!name) return 'none';
      return finishedOn ? 'ended' : 'live';
    });
  }
}
