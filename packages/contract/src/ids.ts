import { randomBytes } from 'node:crypto';

/** Random bytes drawn 4 KiB at a time: one randomBytes call per message was a visible share of the api's CPU. */
const POOL_BYTES = 4096;
let pool = randomBytes(POOL_BYTES);
let offset = 0;

function random64(): bigint {
  if (offset + 8 > POOL_BYTES) {
    pool = randomBytes(POOL_BYTES);
    offset = 0;
  }
  const n = pool.readBigUInt64BE(offset);
  offset += 8;
  return n;
}

/**
 * Message ids: the partition (one base36 character: partitions.ts), a time-ordered part (base36 ms) and
 * 64 random bits, e.g. msg_3mbx3k2a1c9f0e4d2b7a6q. The partition lets a lookup by id find the record's key
 * without a lookup table.
 */
export function newMessageId(now = Date.now(), partition = 0): string {
  const random = random64().toString(36).padStart(13, '0');
  return `msg_${partition.toString(36)}${now.toString(36)}${random}`;
}

/** The partition a message id carries (its first character after `msg_`). */
export function messagePartition(id: string): number {
  const p = parseInt(id.charAt(4), 36);
  return Number.isNaN(p) ? 0 : p;
}
