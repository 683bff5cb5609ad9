/**
 * The BullMQ queues of lane activations and batch chunks: one per partition, named LANE_QUEUE under the
 * prefix P:{pN}, so every key of one queue shares the partition's Redis Cluster slot (BullMQ's scripts need
 * their keys on one slot) and the queues spread over the shards. A conversation's jobs go to its partition's
 * queue; a batch's chunk jobs go round the partitions from the batch id's own (forChunk), so one batch keeps
 * every partition's job slots busy.
 *
 * Every job is added with its name's payload (contract jobs.ts JobPayloads): LaneQueue types add and addBulk by
 * the name, so a chunk payload under the lane name does not compile.
 */
import { Queue, type BulkJobOptions, type Job, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { LANE_QUEUE, partitionOf, partitionTag, type JobName, type JobPayloads } from '@ttpush/contract';

/** A payload of any job name: what the queues hold. */
export type LanePayload = JobPayloads[JobName];

/** A job to add: a name of the contract with that name's payload. */
export type LaneJobSpec<N extends JobName = JobName> = {
  [K in N]: { name: K; data: JobPayloads[K]; opts?: BulkJobOptions };
}[N];

/** One partition's queue: BullMQ's Queue whose adds take a name and its own payload. */
export interface LaneQueue extends Omit<Queue<LanePayload, unknown, JobName>, 'add' | 'addBulk'> {
  add<N extends JobName>(
    name: N,
    data: JobPayloads[N],
    opts?: JobsOptions,
  ): Promise<Job<LanePayload, unknown, JobName>>;
  addBulk(jobs: LaneJobSpec[]): Promise<Job<LanePayload, unknown, JobName>[]>;
}

export class LaneQueues {
  /** Partition p's queue at index p, as BullMQ knows it (dashboards, counts); add through partition(p). */
  readonly queues: readonly Queue<LanePayload, unknown, JobName>[];

  constructor(
    connection: Redis,
    readonly prefix: string,
    readonly partitions: number,
    onError: (err: Error) => void = () => undefined,
  ) {
    this.queues = Array.from({ length: partitions }, (_, p) => {
      const q = new Queue<LanePayload, unknown, JobName>(LANE_QUEUE, { connection, prefix: partitionTag(prefix, p) });
      q.on('error', onError);
      return q;
    });
  }

  partition(p: number): LaneQueue {
    return this.queues[p]!;
  }

  forConv(conv: string): LaneQueue {
    return this.partition(partitionOf(conv, this.partitions));
  }

  /** The queue of chunk n of batch `id`: deterministic, so a job added again lands where its id is known. */
  forChunk(id: string, n: number): LaneQueue {
    return this.partition((partitionOf(id, this.partitions) + n) % this.partitions);
  }

  async close(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.close().catch(() => undefined)));
  }
}
