/**
 * Safety nets that run in every worker: moves due scheduled messages into their lanes, activates
 * lanes that hold work but have neither a lock nor a job (an api that died between accepting a message
 * and adding its job, a worker that died holding a lane), and adds again the lost chunk jobs of batches
 * that stopped moving (batch-reviver.ts).
 */
import type { Logger } from 'pino';
import {
  JOB_PRIORITY,
  Keys,
  LANE_JOB,
  laneJobId,
  type LaneJobData,
  type ChunkJobData,
  type Priority,
} from '@ttpush/contract';
import { BatchIndex, type LaneQueues, type ScriptedRedis } from '@ttpush/store';
import { BatchReviver } from './batch-reviver.ts';

const STALE_LANE_MS = 3000;
const BATCH = 500;
/** A batch with no progress for this long has its chunk jobs checked. */
export const BATCH_STALL_MS = 30_000;

export class Reconciler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  readonly batches: BatchReviver;

  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: Keys,
    private readonly queues: LaneQueues<LaneJobData>,
    private readonly log: Logger,
    private readonly intervalMs = 250,
    batchStallMs = BATCH_STALL_MS,
  ) {
    // A partition's queue carries lane jobs and chunk jobs: priorities order alerts and chunks together.
    this.batches = new BatchReviver(new BatchIndex(redis, keys.prefix), queues.as<ChunkJobData>(), log, batchStallMs);
  }

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.tick()
        .catch((err: unknown) => this.log.debug({ err: (err as Error).message }, 'reconciler tick failed'))
        .finally(() => (this.running = undefined));
    }, this.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  async tick(now = Date.now()): Promise<void> {
    // Partitions side by side: on a cluster, one shard that is down (or slow) holds up only its own partitions.
    const results = await Promise.allSettled([
      ...this.keys.all.map(async (p) => {
        await this.promoteDue(p, now);
        await this.activateStale(p, now);
      }),
      this.batches.tick(now),
    ]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private async activate(conv: string, headId: string, priority: Priority): Promise<void> {
    await this.queues.forConv(conv).add(
      LANE_JOB,
      { conv },
      {
        jobId: laneJobId(conv, headId),
        priority: JOB_PRIORITY[priority] ?? 2,
        removeOnComplete: true,
        removeOnFail: true,
      },
    );
  }

  private async promoteDue(p: number, now: number): Promise<void> {
    const k = this.keys;
    const due = await this.redis.zrangebyscore(k.scheduled(p), '-inf', now, 'LIMIT', 0, BATCH);
    for (const id of due) {
      const [conv, priority] = await this.redis.hmget(k.message(id), 'c', 'p');
      if (!conv) {
        await this.redis.zrem(k.scheduled(p), id);
        continue;
      }
      const n = await this.redis.ttPromote(k.message(id), k.lane(conv), k.lanes(p), k.scheduled(p), id, conv, now);
      if (n === 1) await this.activate(conv, id, (priority as Priority) ?? 'normal');
    }
  }

  private async activateStale(p: number, now: number): Promise<void> {
    const k = this.keys;
    const stale = await this.redis.zrangebyscore(k.lanes(p), '-inf', now - STALE_LANE_MS, 'LIMIT', 0, BATCH);
    for (const conv of stale) {
      const [[, locked], [, head]] = (await this.redis.multi().exists(k.lock(conv)).lindex(k.lane(conv), 0).exec()) as [
        [unknown, number],
        [unknown, string | null],
      ];
      if (locked) continue;
      if (!head) {
        // Empty and unlocked: nothing to do. A push after this check re-adds the lane with a fresh score.
        await this.redis.zrem(k.lanes(p), conv);
        continue;
      }
      const priority = (await this.redis.hget(k.message(head), 'p')) as Priority | null;
      this.log.debug({ conv, head }, 'activating a lane left without a job');
      await this.activate(conv, head, priority ?? 'normal');
      await this.redis.zadd(k.lanes(p), now, conv);
    }
  }
}
