import { randomBytes } from 'node:crypto';

/**
 * Message ids: the partition (one base36 character: partitions.ts), a time-ordered part (base36 ms) and
 * 64 random bits, e.g. msg_3mbx3k2a1c9f0e4d2b7a6q. The partition lets a lookup by id find the record's key
 * without a lookup table.
 */
export function newMessageId(now = Date.now(), partition = 0): string {
  const random = randomBytes(8).readBigUInt64BE().toString(36).padStart(13, '0');
  return `msg_${partition.toString(36)}${now.toString(36)}${random}`;
}

/** The partition a message id carries (its first character after `msg_`). */
export function messagePartition(id: string): number {
  const p = parseInt(id.charAt(4), 36);
  return Number.isNaN(p) ? 0 : p;
}
