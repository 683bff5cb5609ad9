/**
 * The reconciler's safety net for batches: a batch whose upload marked it queued but whose chunk jobs were
 * never added (Redis failed in between), or one of whose chunk jobs failed for good, would never finish.
 * A batch listed in P:bactive that made no progress for `stallMs` gets the job of every chunk without results
 * and without a live job added again, under the chunk's own job id (BullMQ ignores an add whose id exists),
 * so two workers doing this at once add each job once. Cheap when there is nothing to do: one ZRANGEBYSCORE.
 */
import type { Logger } from 'pino';
import { CHUNK_JOB, chunkJobId, type BatchKeys, type Priority } from '@ttpush/contract';
import type { Redis } from 'ioredis';
import { chunkJobOptions, type LaneQueue, type LaneQueues } from '@ttpush/store';

/** Batches looked at per pass. */
const PER_PASS = 20;
/** Chunks whose state is read per Redis round trip. */
const CHUNKS_PER_READ = 500;

export class BatchReviver {
  private nextPass = 0;

  constructor(
    private readonly redis: Redis,
    private readonly keys: BatchKeys,
    private readonly queues: LaneQueues,
    private readonly log: Logger,
    /** How long a batch may go without progress (its `updated`, or its send_at) before its jobs are checked. */
    readonly stallMs: number,
    /** Pause between two passes. */
    private readonly everyMs = Math.min(1000, stallMs),
  ) {}

  /** Revives the stalled batches of P:bactive, drops finished or vanished ones from it. Returns chunk jobs added. */
  async tick(now = Date.now()): Promise<number> {
    if (now < this.nextPass) return 0;
    this.nextPass = now + this.everyMs;
    const ids = await this.redis.zrangebyscore(this.keys.active, '-inf', now - this.stallMs, 'LIMIT', 0, PER_PASS);
    let added = 0;
    for (const id of ids) added += await this.check(id, now);
    return added;
  }

  private async check(id: string, now: number): Promise<number> {
    const k = this.keys;
    const [status, updated, chunks, sendAt, priority, finished] = await this.redis.hmget(
      k.batch(id),
      'status',
      'updated',
      'chunks',
      'send_at',
      'priority',
      'finished',
    );
    if (!status || finished || status === 'completed') {
      await this.redis.zrem(k.active, id);
      return 0;
    }
    const since = Math.max(Number(updated ?? 0), Number(sendAt ?? 0));
    // Moving, or waiting for its upload or a resume: look again once it could have stalled.
    if (status === 'uploading' || status === 'paused' || now - since < this.stallMs) {
      await this.redis.zadd(k.active, status === 'uploading' || status === 'paused' ? now : since, id);
      return 0;
    }
    let added = 0;
    const count = Number(chunks ?? 0);
    for (let first = 0; first < count; first += CHUNKS_PER_READ) {
      const ns = Array.from({ length: Math.min(CHUNKS_PER_READ, count - first) }, (_, i) => first + i);
      added += await this.revive(id, ns, (priority as Priority | null) ?? 'normal', Number(sendAt ?? 0) - now);
    }
    if (added > 0)
      this.log.warn({ batch: id, added }, 'batch stalled with chunks left without a job: jobs added again');
    await this.redis.zadd(k.active, now, id);
    return added;
  }

  /** Adds the jobs of chunks `ns` that have neither results nor a live job. */
  private async revive(id: string, ns: number[], priority: Priority, delayMs: number): Promise<number> {
    const k = this.keys;
    // A batch's keys share one Cluster slot; its chunks' jobs lie in the queues of several partitions (one slot
    // each): one pipeline for the former, one per queue for the latter.
    const results = await this.redis
      .pipeline(
        ns.flatMap((n) => [
          ['exists', k.results(id, n)],
          ['exists', k.chunk(id, n)],
        ]),
      )
      .exec();
    const open = ns.filter((_, i) => results?.[2 * i]?.[1] === 0 && results?.[2 * i + 1]?.[1] === 1);
    if (open.length === 0) return 0;
    const byQueue = new Map<LaneQueue, number[]>();
    for (const n of open) {
      const q = this.queues.forChunk(id, n);
      byQueue.set(q, [...(byQueue.get(q) ?? []), n]);
    }
    let added = 0;
    for (const [queue, chunks] of byQueue) {
      const jobs = await this.redis
        .pipeline(chunks.map((n) => ['hmget', queue.toKey(chunkJobId(id, n)), 'name', 'finishedOn']))
        .exec();
      for (let i = 0; i < chunks.length; i++) {
        const n = chunks[i]!;
        const [name, finishedOn] = (jobs?.[i]?.[1] ?? [null, null]) as (string | null)[];
        if (name && !finishedOn) continue; // a live job: waiting, delayed, prioritized or active
        // A job kept after failing for good holds its id: remove it so the add below is not ignored.
        if (name) await queue.remove(chunkJobId(id, n));
        await queue.add(CHUNK_JOB, { batch: id, chunk: n }, chunkJobOptions(id, n, priority, delayMs));
        added++;
      }
    }
    return added;
  }
}
