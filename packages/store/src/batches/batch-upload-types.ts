/** What an upload in progress looks like to the api: the store's side of POST /v1/batches. */
import type { BatchHeader, BatchRecipient, BatchView, RejectedInput } from '@ttpush/contract';

export interface BeginBatchRequest {
  /** The app key's name (attribution and idempotency scope). */
  app: string;
  /** The public id of the key that sent it: reading it with another key of the app needs read_all. */
  key?: string | undefined;
  header: BatchHeader;
  idempotencyKey?: string | undefined;
}

/** An upload in progress: feed it recipients and refused inputs, then finish (or abort) it. */
export interface BatchUploadHandle {
  readonly id: string;
  /** Recipients kept so far (duplicates removed). */
  readonly accepted: number;
  /** Inputs recorded as rejected so far. */
  readonly rejected: number;
  /**
   * Adds a recipient (a repeat of an earlier one is counted and dropped). Returns a promise only when
   * the caller must wait for Redis writes to catch up (backpressure); otherwise undefined.
   */
  add(recipient: BatchRecipient): Promise<void> | undefined;
  /** Records an input refused under ?skip_invalid=true; same backpressure contract as add(). */
  reject(input: RejectedInput): Promise<void> | undefined;
  /**
   * Writes what is left, marks the batch queued and queues its chunks. `fingerprint` (a hash of the request) is
   * kept with the batch: a repeat of its Idempotency-Key with another fingerprint is refused.
   */
  finish(fingerprint?: string): Promise<BatchView>;
  /** Deletes everything written for this upload. Never throws. */
  abort(): Promise<void>;
}

/**
 * A new upload, or the batch an Idempotency-Key already names, with the fingerprint its upload ended with (absent
 * while it is still uploading, or for a batch from before fingerprints were kept).
 */
export type BeginBatchResult =
  { upload: BatchUploadHandle } | { duplicate: BatchView; fingerprint?: string | undefined };

export type BatchActionResult =
  | { ok: true; view: BatchView }
  | { ok: false; reason: 'not_found' }
  | { ok: false; reason: 'conflict'; view: BatchView };
