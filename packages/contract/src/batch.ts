/**
 * The batch contract shared by api and worker: one content (or per-recipient contents) to many
 * recipients, uploaded whole, then sent in chunks. Status names, result states and view fields are
 * the public API (issue 5): never rename them.
 */
import type { Priority, Recipient } from './message.ts';

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
