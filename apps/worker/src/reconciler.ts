/**
 * Safety nets that run in every worker: moves due scheduled messages into their lanes, activates
 * lanes that hold work but have neither a lock nor a job (an api that died between accepting a message
 * and adding its job, a worker that died holding a lane), adds a take job for an activations list left without a
 * taker (activations.ts), and adds again the lost chunk jobs of batches
 * that stopped moving (batch-reviver.ts).
 */
import type { Logger } from 'pino';
import { JOB_PRIORITY, LANE_JOB, laneJobId, type Priority } from '@ttpush/contract';
import type { BatchIndex, LaneQueues, ReconcilerStore } from '@ttpush/store';
import { BatchReviver } from './batch-reviver.ts';

const STALE_LANE_MS = 3000;
const BATCH = 500;
/** A batch with no progress for this long has its chunk jobs checked. */
export const BATCH_STALL_MS = 30_000;

export class Reconciler {
  private timer: NodeJS.Timeout | undefined;
  /** The first conversation of each untaken activations list at the last tick, by `partition.priority`. */
  private untakenHeads = new Map<string, string>();
  private running: Promise<void> | undefined;
  readonly batches: BatchReviver;

  constructor(
    private readonly store: ReconcilerStore,
    /** What the batch reviver reads of batches. */
    batches: BatchIndex,
    private readonly queues: LaneQueues,
    private readonly log: Logger,
    private readonly intervalMs = 250,
    batchStallMs = BATCH_STALL_MS,
  ) {
    // A partition's queue carries lane jobs and chunk jobs: priorities order alerts and chunks together.
    this.batches = new BatchReviver(batches, queues, log, batchStallMs);
  }

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.tick()
        .catch((err: unknown) => this.log.debug({ err }, 'reconciler tick failed'))
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
      ...this.store.keys.all.map(async (p) => {
        await this.promoteDue(p, now);
        await this.takeUntaken(p);
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

  /**
   * An activations list whose first conversation is the same as a tick ago, with no worker taking it: its take job
   * was never added (an api that died) or its taker died. One more take job is harmless: it takes what is there.
   */
  private async takeUntaken(p: number): Promise<void> {
    const seen = new Set<string>();
    for (const { priority, head } of await this.store.untaken(p)) {
      const key = `${p}.${priority}`;
      seen.add(key);
      if (this.untakenHeads.get(key) !== head) {
        this.untakenHeads.set(key, head);
        continue;
      }
      this.untakenHeads.delete(key);
      this.log.debug({ partition: p, priority }, 'adding a take job for an activations list left without one');
      await this.queues
        .partition(p)
        .add(
          LANE_JOB,
          { take: priority, partition: p },
          { priority: JOB_PRIORITY[priority], removeOnComplete: true, removeOnFail: true },
        );
    }
    for (const key of this.untakenHeads.keys())
      if (key.startsWith(`${p}.`) && !seen.has(key)) this.untakenHeads.delete(key);
  }

  private async promoteDue(p: number, now: number): Promise<void> {
    for (const id of await this.store.dueScheduled(p, now, BATCH)) {
      const r = await this.store.promote(id, now);
      if (r.status === 'promoted' && r.laneLength === 1) await this.activate(r.conv, id, r.priority);
    }
  }

  private async activateStale(p: number, now: number): Promise<void> {
    for (const conv of await this.store.staleLanes(p, now - STALE_LANE_MS, BATCH)) {
      const look = await this.store.look(conv);
      if (look.locked) continue;
      if (!look.head) {
        // Empty and unlocked: nothing to do. A push after this check re-adds the lane with a fresh score.
        await this.store.forget(conv);
        continue;
      }
      const priority = await this.store.priority(look.head);
      this.log.debug({ conv, head: look.head }, 'activating a lane left without a job');
      await this.activate(conv, look.head, priority ?? 'normal');
      await this.store.touch(conv, now);
    }
  }
}
