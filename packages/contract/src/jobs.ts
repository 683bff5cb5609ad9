/**
 * The BullMQ side of the contract: queue and job names, job ids, priorities, and each job name's payload
 * (JobPayloads). Lane activations and batch chunks share one queue per partition (LANE_QUEUE under P:{pN}, store
 * lane-queues.ts), so priorities order alerts and chunks together. Never rename a name: deployed workers read it.
 */
import type { Priority } from './message.ts';

export const LANE_QUEUE = 'lanes';
export const LANE_JOB = 'lane';
/**
 * One lane (`conv`, from the reconciler), several activated in the same tick (`convs`, from an older api), or a
 * take: the worker takes the conversations of `partition`'s activations list of priority `take` (keys.ts
 * activations, lane-take.lua) until it finds it empty.
 */
export interface LaneJobData {
  conv?: string;
  convs?: string[];
  take?: Priority;
  partition?: number;
}

/** BullMQ priorities (lower runs first). */
export const JOB_PRIORITY = { high: 1, normal: 2, low: 3 } as const;

/** Job ids may not contain ':' in BullMQ. */
export function laneJobId(conv: string, headId: string): string {
  return `${conv}.${headId}`;
}

/**
 * Job name of a chunk in the partitions' lanes queues (LANE_QUEUE, lane-queues.ts): chunks share them with lane jobs,
 * so priorities order alerts and chunks together.
 */
export const CHUNK_JOB = 'chunk';
export interface ChunkJobData {
  batch: string;
  chunk: number;
}

/** Job ids may not contain ':' in BullMQ; batch ids never do. */
export function chunkJobId(batch: string, chunk: number): string {
  return `${batch}.${chunk}`;
}

/** Every job name of the lanes queues and its payload: the worker dispatches on the name, typed by this map. */
export interface JobPayloads {
  [LANE_JOB]: LaneJobData;
  [CHUNK_JOB]: ChunkJobData;
}
export type JobName = keyof JobPayloads;
export const JOB_NAMES: readonly JobName[] = [LANE_JOB, CHUNK_JOB];
