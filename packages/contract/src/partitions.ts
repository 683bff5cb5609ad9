/**
 * Partitions: how ttpush spreads its queues over the shards of a Redis Cluster. A conversation belongs to
 * partition fmix32(fnv1a(conv)) mod N, and every key a script touches together carries the partition's hash tag
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

/**
 * MurmurHash3's finalizer: FNV-1a's low bits are weak (the lowest is the parity of the bytes' lowest bits, so
 * u-1000-2000, u-1001-2001... all share it), and `mod N` reads the low bits.
 */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The partition of a conversation (or of a batch id): 0..partitions-1. */
export function partitionOf(name: string, partitions: number): number {
  return fmix32(fnv1a(name)) % partitions;
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
