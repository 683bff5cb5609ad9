/**
 * The batch contract shared by api and worker: one content (or per-recipient contents) to many
 * recipients, uploaded whole, then sent in chunks. Status names, result states and view fields are
 * the public API (issue 5): never rename them.
 */
import type { Owner, Priority, Recipient } from './types.ts';

export type BatchStatus = 'uploading' | 'queued' | 'running' | 'paused' | 'completed' | 'cancelled';
export const BATCH_STATUSES: readonly BatchStatus[] = [
  'uploading',
  'queued',
  'running',
  'paused',
  'completed',
  'cancelled',
];

/** Final per-recipient outcomes, as `GET /v1/batches/:id/results?state=` filters them. */
export type BatchResultState = 'sent' | 'failed' | 'cancelled' | 'rejected';
export const BATCH_RESULT_STATES: readonly BatchResultState[] = ['sent', 'failed', 'cancelled', 'rejected'];

/** A recipient of a batch, validated. `text` is its own content (already JSON text for an object), if any. */
export interface BatchRecipient {
  to: Recipient;
  text?: string | undefined;
}

/** The batch-wide part of an upload, validated. */
export interface BatchHeader {
  from: number;
  /** The content every recipient without its own gets; absent when each recipient carries one. */
  text?: string | undefined;
  priority: Priority;
  /** Unix ms: send no earlier. */
  sendAt?: number | undefined;
  /** Unix ms: what is not sent by then fails as `expired`. */
  deadline?: number | undefined;
  /** Webhooks: the batch's batch.completed is also posted here, signed with the app's callback secret. */
  callbackUrl?: string | undefined;
}

/** An input line (NDJSON) or array element (JSON) refused under ?skip_invalid=true. */
export interface RejectedInput {
  /** 1-based line number of an NDJSON upload. */
  line?: number;
  /** 0-based index in the JSON body's `recipients`. */
  index?: number;
  /** The refused input, cut to a few hundred characters. */
  input: string;
  code: string;
  message: string;
}

export interface BatchCounts {
  queued: number;
  sending: number;
  sent: number;
  failed: number;
  cancelled: number;
}

export interface BatchView {
  id: string;
  status: BatchStatus;
  from: number;
  priority: Priority;
  /** Recipients of the upload after duplicates were removed, rejected ones included. */
  total: number;
  counts: BatchCounts;
  /** Inputs refused under ?skip_invalid=true (listed in the results with state `rejected`). */
  rejected: number;
  /** How many of the rejected inputs the results list (the first REJECTED_SAMPLE, 1,000); the rest are only counted. */
  rejected_listed: number;
  /** Repeated recipients removed from the upload. */
  duplicates: number;
  /** Messages stored or failed per second, over the last few seconds (or the whole run once finished). */
  rate: number;
  /** Seconds until every recipient is done at the current rate; null when not sending. */
  eta_seconds: number | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
  send_at: string | null;
  deadline: string | null;
}

export type BatchResultRow =
  | { recipient: Recipient; state: 'sent'; msg_id: number }
  | { recipient: Recipient; state: 'failed'; error: { code: string; message: string } }
  | { recipient: Recipient; state: 'cancelled' | 'queued' | 'sending' }
  | {
      recipient: null;
      state: 'rejected';
      line?: number;
      index?: number;
      input: string;
      error: { code: string; message: string };
    };

export interface BatchResultsPage {
  results: BatchResultRow[];
  /** Pass as ?cursor= for the next page; null at the end. A page may be short (or empty) before the end. */
  next_cursor: string | null;
}

export interface BatchResultsQuery {
  state?: BatchResultState | undefined;
  cursor?: string | undefined;
  limit: number;
}

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

/** What the HTTP API needs for batches. Every method throws ServiceUnavailableError when Redis is down. */
export interface BatchService {
  begin(req: BeginBatchRequest): Promise<BeginBatchResult>;
  get(id: string): Promise<BatchView | null>;
  /** The app and key id that sent a batch (key null for batches from before keys were recorded). */
  owner(id: string): Promise<Owner | null>;
  /** null: no such batch. Throws BatchCursorError for a cursor this service did not hand out. */
  results(id: string, query: BatchResultsQuery): Promise<BatchResultsPage | null>;
  /** Every result (filtered by state), for an NDJSON export; null: no such batch. */
  exportResults(id: string, state?: BatchResultState): Promise<AsyncIterable<BatchResultRow> | null>;
  /** Stops what has not been sent. conflict: completed, or still uploading. Cancelling twice is ok. */
  cancel(id: string): Promise<BatchActionResult>;
  /** conflict: completed, cancelled or uploading. Pausing a paused batch is ok. */
  pause(id: string): Promise<BatchActionResult>;
  /** conflict: completed, cancelled or uploading. Resuming a batch that is not paused is ok. */
  resume(id: string): Promise<BatchActionResult>;
  /** The newest batches first, at most `limit` (of the last 1,000 created). */
  listRecent(limit: number): Promise<BatchView[]>;
  /** Recipients of unfinished batches not yet sent, failed or cancelled (paused ones included). */
  backlog(): Promise<number>;
}

/** A results cursor that this service did not hand out. */
export class BatchCursorError extends Error {
  override readonly name = 'BatchCursorError';
  readonly code = 'batch_cursor_invalid';
}

/** The upload holds more recipients than a batch may. */
export class BatchTooLargeError extends Error {
  override readonly name = 'BatchTooLargeError';
  readonly code = 'batch_too_large';
}
