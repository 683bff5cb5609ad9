/**
 * Redis keys, hash fields and queue contract of batches. Every key of one batch shares the hash tag {<id>}, so the
 * Lua scripts that touch a batch and its chunks stay on one Redis Cluster slot.
 *
 *   P:b:{<id>}        hash    the batch: BATCH_FIELDS
 *   P:b:{<id>}:c:<n>  string  the n-th chunk's recipients: compact JSON (batch-codec.ts)
 *   P:b:{<id>}:r:<n>  string  the n-th chunk's results, parallel to its recipients, written once when it ends
 *   P:b:{<id>}:s:<n>  hash    the n-th chunk's send state: ct (create_time, fixed for the chunk), at (attempt),
 *                             clean ('1': no recipient without a result was ever sent), pr (partial results)
 *   P:b:{<id>}:rej    list    the first REJECTED_SAMPLE inputs refused under ?skip_invalid=true (JSON each)
 *   P:bidem:<app>:<key>       batch id of an Idempotency-Key (24 h): a slot of its own, claimed by compare-and-set
 *   P:bactive         zset    batches not known to be finished (score: ms since when a lack of progress counts):
 *                             the workers' reconciler re-adds the lost chunk jobs of a batch that stopped moving
 *   P:brecent         zset    the newest RECENT_BATCHES batch ids by creation time (ms), for the console; written
 *                             with single-key commands after the batch is created, never inside a batch's script
 */
import { randomBytes } from 'node:crypto';

/** Recipients per chunk: one BullMQ job, one results write. */
export const CHUNK_SIZE = 1000;
/** Recipients one batch may hold (the API dedupes in memory: about 40 bytes each). */
export const MAX_BATCH_RECIPIENTS = 10_000_000;
/** An upload that stops writing for this long is abandoned: its Idempotency-Key may start over. */
export const UPLOAD_STALE_MS = 60_000;
/** Keys of an upload in progress expire after this unless the upload finishes (an API that died mid-upload). */
export const UPLOAD_TTL_MS = 24 * 3_600_000;
/** A finished batch (completed, or cancelled with every chunk settled) is kept this long. */
export const FINISHED_BATCH_TTL_MS = 7 * 24 * 3_600_000;

/**
 * Inputs refused under ?skip_invalid=true that a batch lists (the first ones, with their line or index and reason);
 * the rest are only counted: a small upload of a million invalid lines must not cost Redis a million entries.
 */
export const REJECTED_SAMPLE = 1000;

/** Batches the recent-batches index keeps (its oldest are trimmed as new ones come). */
export const RECENT_BATCHES = 1000;

export const BATCH_ID = /^bat_[0-9a-z]{10,40}$/;

/** Time-ordered prefix (base36 ms) and 64 random bits, e.g. bat_mbx3k2a1c9f0e4d2b7a6q. */
export function newBatchId(now = Date.now()): string {
  return `bat_${now.toString(36)}${randomBytes(8).readBigUInt64BE().toString(36).padStart(13, '0')}`;
}

/**
 * Fields of a batch's hash, written by the api (upload) and the Lua scripts, read by both processes:
 *   from · content (absent: per-recipient contents only) · status · priority · app · key (the key id)
 *   created · updated · started · finished (ms) · send_at · deadline (ms, optional)
 *   total (valid + rejected) · valid · chunks · duplicates · rejected
 *   sending · sent · failed · cancelled (counters; queued is what is left)
 *   rt0/rn0, rt1/rn1: two (time, sent + failed) samples for the rate
 *   cb callback_url (webhooks: batch.completed goes there too)
 *   fp the fingerprint of the upload (a SHA-256 of the request) a repeat of its Idempotency-Key must match
 */
// prettier-ignore
export const BATCH_FIELDS = {
  from: 'from', content: 'content', status: 'status', priority: 'priority', app: 'app', key: 'key',
  created: 'created', updated: 'updated', started: 'started', finished: 'finished', sendAt: 'send_at',
  deadline: 'deadline', total: 'total', valid: 'valid', chunks: 'chunks', duplicates: 'duplicates',
  rejected: 'rejected', sending: 'sending', sent: 'sent', failed: 'failed', cancelled: 'cancelled',
  rateTime0: 'rt0', rateDone0: 'rn0', rateTime1: 'rt1', rateDone1: 'rn1', callbackUrl: 'cb', fingerprint: 'fp',
} as const;

export class BatchKeys {
  constructor(readonly prefix: string) {}
  /** The batch hash; also the base the Lua scripts build chunk keys from. */
  batch(id: string): string {
    return `${this.prefix}:b:{${id}}`;
  }
  chunk(id: string, n: number): string {
    return `${this.batch(id)}:c:${n}`;
  }
  results(id: string, n: number): string {
    return `${this.batch(id)}:r:${n}`;
  }
  sendState(id: string, n: number): string {
    return `${this.batch(id)}:s:${n}`;
  }
  rejected(id: string): string {
    return `${this.batch(id)}:rej`;
  }
  idempotency(app: string, key: string): string {
    return `${this.prefix}:bidem:${app}:${key}`;
  }
  /** Batches not known to be finished: the reconciler's view (a key of its own slot, never in a batch's script). */
  get active(): string {
    return `${this.prefix}:bactive`;
  }
  /** Recent batches by creation time (the console's list). */
  get recent(): string {
    return `${this.prefix}:brecent`;
  }
}

/** Recipients in chunk n of a batch of `valid` recipients. */
export function chunkLength(valid: number, n: number): number {
  return Math.max(0, Math.min(CHUNK_SIZE, valid - n * CHUNK_SIZE));
}
