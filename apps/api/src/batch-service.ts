/**
 * The API side of batches: starts uploads, reads a batch's view and its per-recipient results, and
 * cancels, pauses and resumes it. Workers send the chunks (apps/worker chunk-processor.ts). Redis is reached
 * through the store's BatchStore only.
 */
import type { Redis } from 'ioredis';
import {
  BATCH_FIELDS,
  BATCH_ID,
  DEFAULT_PARTITIONS,
  newBatchId,
  type BatchResultRow,
  type BatchResultState,
  type BatchResultsPage,
  type BatchResultsQuery,
  type BatchView,
  type Owner,
} from '@ttpush/contract';
import {
  BatchStore,
  BatchUpload,
  LaneQueues,
  ServiceUnavailableError,
  toBatchView,
  type BatchActionResult,
  type BatchTransition,
  type BeginBatchRequest,
  type BeginBatchResult,
} from '@ttpush/store';

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

export interface RedisBatchServiceOptions {
  /** Commands: fail fast (producerRedis). */
  redis: Redis;
  prefix: string;
  /** BullMQ's connection (may be shared with the message service's queue). */
  queueConnection: Redis;
  /** TTPUSH_REDIS_PARTITIONS (default DEFAULT_PARTITIONS): chunk jobs go round the partitions' queues. */
  partitions?: number;
  /** TTPUSH_RECORD_TTL: a finished batch is kept this long (default FINISHED_BATCH_TTL_MS). */
  finishedTtlMs?: number;
}

export class RedisBatchService implements BatchService {
  private readonly store: BatchStore;
  readonly queues: LaneQueues;

  constructor(opts: RedisBatchServiceOptions) {
    this.store = new BatchStore(opts.redis, opts.prefix, { finishedTtlMs: opts.finishedTtlMs });
    // Queue errors surface per call as ServiceUnavailableError.
    this.queues = new LaneQueues(opts.queueConnection, opts.prefix, opts.partitions ?? DEFAULT_PARTITIONS);
  }

  async begin(req: BeginBatchRequest): Promise<BeginBatchResult> {
    const now = Date.now();
    const id = newBatchId(now);
    const store = this.store;
    const idem = req.idempotencyKey !== undefined ? { app: req.app, key: req.idempotencyKey } : undefined;
    // The batch exists before its Idempotency-Key names it: a repeat that finds the key finds the batch.
    await store.begin({ id, app: req.app, key: req.key, header: req.header, now });
    if (idem !== undefined) {
      const existing = await store.claimIdempotency(idem, id, now);
      if (existing !== undefined) {
        await store.abort(id, 0);
        const h = await store.hash(existing);
        const view = toBatchView(existing, h);
        if (view) return { duplicate: view, fingerprint: h[BATCH_FIELDS.fingerprint] || undefined };
        throw new ServiceUnavailableError('the batch of this Idempotency-Key is no longer available');
      }
    }
    await store.index.addRecent(id, now);
    return { upload: new BatchUpload({ store, queues: this.queues }, id, req.header, idem) };
  }

  async get(id: string): Promise<BatchView | null> {
    return BATCH_ID.test(id) ? this.store.view(id) : null;
  }

  async owner(id: string): Promise<Owner | null> {
    return BATCH_ID.test(id) ? this.store.owner(id) : null;
  }

  listRecent(limit: number): Promise<BatchView[]> {
    return this.store.index.recent(limit);
  }

  backlog(): Promise<number> {
    return this.store.index.backlog();
  }

  async results(id: string, query: BatchResultsQuery): Promise<BatchResultsPage | null> {
    return BATCH_ID.test(id) ? this.store.results(id, query) : null;
  }

  async exportResults(id: string, state?: BatchResultState): Promise<AsyncIterable<BatchResultRow> | null> {
    return BATCH_ID.test(id) ? this.store.exportResults(id, state) : null;
  }

  cancel(id: string): Promise<BatchActionResult> {
    return this.act(id, () => this.store.cancel(id));
  }

  pause(id: string): Promise<BatchActionResult> {
    return this.act(id, () => this.store.pause(id));
  }

  resume(id: string): Promise<BatchActionResult> {
    return this.act(id, () => this.store.resume(id));
  }

  async close(): Promise<void> {
    await this.queues.close();
  }

  private async act(id: string, run: () => Promise<BatchTransition>): Promise<BatchActionResult> {
    if (!BATCH_ID.test(id)) return { ok: false, reason: 'not_found' };
    const t = await run();
    if (t.outcome === 'missing') return { ok: false, reason: 'not_found' };
    const view = await this.get(id);
    if (!view) return { ok: false, reason: 'not_found' };
    return t.outcome === 'conflict' ? { ok: false, reason: 'conflict', view } : { ok: true, view };
  }
}
