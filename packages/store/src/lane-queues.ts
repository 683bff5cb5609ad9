/**
 * The BullMQ queues of lane activations and batch chunks: one per partition, named LANE_QUEUE under the
 * prefix P:{pN}, so every key of one queue shares the partition's Redis Cluster slot (BullMQ's scripts need
 * their keys on one slot) and the queues spread over the shards. A conversation's jobs go to its partition's
 * queue; a batch's chunk jobs go round the partitions from the batch id's own (forChunk), so one batch keeps
 * every partition's job slots busy.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { LANE_QUEUE } from '@ttpush/contract';
import { partitionOf, partitionTag } from '@ttpush/contract';

export class LaneQueues<T = unknown> {
  readonly queues: Queue<T>[];

  constructor(
    connection: Redis,
    readonly prefix: string,
    readonly partitions: number,
    onError: (err: Error) => void = () => undefined,
  ) {
    this.queues = Array.from({ length: partitions }, (_, p) => {
      const q = new Queue<T>(LANE_QUEUE, { connection, prefix: partitionTag(prefix, p) });
      q.on('error', onError);
      return q;
    });
  }

  partition(p: number): Queue<T> {
    return this.queues[p]!;
  }

  forConv(conv: string): Queue<T> {
    return this.partition(partitionOf(conv, this.partitions));
  }

  /** The queue of chunk n of batch `id`: deterministic, so a job added again lands where its id is known. */
  forChunk(id: string, n: number): Queue<T> {
    return this.partition((partitionOf(id, this.partitions) + n) % this.partitions);
  }

  /** The same queues typed for another job payload (lane and chunk jobs share them). */
  as<U>(): LaneQueues<U> {
    return this as unknown as LaneQueues<U>;
  }

  async close(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.close().catch(() => undefined)));
  }
}
