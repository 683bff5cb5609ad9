/**
 * Partitions: how ttpush spreads its queues over the shards of a Redis Cluster. A conversation belongs to
 * partition fnv1a(conv) mod N, and every key a script touches together carries the partition's hash tag
 * `{pN}` (the lane, the lock, the conversation hash, the message records, the lanes and scheduled zsets, the
 * depth counter, the idempotency keys, the partition's BullMQ queue), so each script and MULTI stays on one
 * slot. N (TTPUSH_REDIS_PARTITIONS) must not change while messages are in flight: a conversation would move
 * to another partition and its old lane would be left to nobody.
 */

export const DEFAULT_PARTITIONS = 8;
/** A message id carries its partition as one base36 character. */
export const MAX_PARTITIONS = 36;

/** FNV-1a, 32 bits, over the UTF-16 code units: stable across processes, machines and Node versions. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The partition of a conversation (or of a batch id): 0..partitions-1. */
export function partitionOf(name: string, partitions: number): number {
  return fnv1a(name) % partitions;
}

/** The key prefix of a partition; `{pN}` is the Redis Cluster hash tag, so all its keys share one slot. */
export function partitionTag(prefix: string, partition: number): string {
  return `${prefix}:{p${partition}}`;
}

export function checkPartitions(partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS) {
    throw new RangeError(`partitions must be an integer from 1 to ${MAX_PARTITIONS}, not ${partitions}`);
  }
  return partitions;
}
