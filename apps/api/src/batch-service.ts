/**
 * The API side of batches: starts uploads, reads a batch's view and its per-recipient results, and
 * cancels, pauses and resumes it. Workers send the chunks (apps/worker chunk-processor.ts).
 */
import type { Redis } from 'ioredis';
import { LaneQueues } from '@ttpush/store';
import { DEFAULT_PARTITIONS } from '@ttpush/contract';
import {
  BATCH_ID,
  BatchKeys,
  CHUNK_SIZE,
  FINISHED_BATCH_TTL_MS,
  RECENT_BATCHES,
  REJECTED_SAMPLE,
  UPLOAD_STALE_MS,
  UPLOAD_TTL_MS,
  chunkLength,
  newBatchId,
} from '@ttpush/contract';
import { defineBatchScripts, type BatchScriptedRedis } from '@ttpush/store';
import { BatchUpload } from '@ttpush/store';
import { execPipeline, unavailable } from '@ttpush/store';
import { toBatchView } from '@ttpush/store';
import {
  ChunkResults,
  RESULT_CANCELLED,
  RESULT_FAILED,
  RESULT_SENT,
  decodeChunk,
  encodeCursor,
  parseCursor,
  type DecodedChunk,
} from '@ttpush/store';
import type { BatchActionResult, BeginBatchRequest, BeginBatchResult } from '@ttpush/store';
import type {
  BatchResultRow,
  BatchResultState,
  BatchResultsPage,
  BatchResultsQuery,
  BatchView,
  RejectedInput,
} from '@ttpush/contract';
import { FAILURE_CODES, type Owner } from '@ttpush/contract';
import { ServiceUnavailableError } from '@ttpush/store';

/** Chunks one results page reads at most: a page may come back short, its cursor goes on from there. */
const MAX_CHUNKS_PER_PAGE = 20;

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

interface ChunkState {
  chunk: DecodedChunk;
  /** Final results (written when the chunk ended), else the partial ones of an interrupted chunk. */
  results: ChunkResults | null;
  /** A worker has claimed the chunk: recipients without a result are being sent. */
  claimed: boolean;
}

function failureMessage(code: string): string {
  return (FAILURE_CODES as Record<string, string>)[code] ?? 'the message could not be sent';
}

function rowOf(state: ChunkState, i: number): BatchResultRow {
  const recipient = state.chunk.to[i]!;
  const r = state.results;
  switch (r?.states[i]) {
    case RESULT_SENT:
      return { recipient, state: 'sent', msg_id: r.values[i] as number };
    case RESULT_FAILED: {
      const code = r.values[i] as string;
      return { recipient, state: 'failed', error: { code, message: failureMessage(code) } };
    }
    case RESULT_CANCELLED:
      return { recipient, state: 'cancelled' };
    default:
      return { recipient, state: state.claimed ? 'sending' : 'queued' };
  }
}

function rejectedRow(json: string): BatchResultRow {
  const r = JSON.parse(json) as RejectedInput;
  return {
    recipient: null,
    state: 'rejected',
    ...(r.line !== undefined && { line: r.line }),
    ...(r.index !== undefined && { index: r.index }),
    input: r.input,
    error: { code: r.code, message: r.message },
  };
}

export class RedisBatchService implements BatchService {
  private readonly redis: BatchScriptedRedis;
  readonly keys: BatchKeys;
  readonly queues: LaneQueues;
  private readonly finishedTtlMs: number;

  constructor(opts: RedisBatchServiceOptions) {
    this.redis = defineBatchScripts(opts.redis);
    this.finishedTtlMs = opts.finishedTtlMs ?? FINISHED_BATCH_TTL_MS;
    this.keys = new BatchKeys(opts.prefix);
    // Queue errors surface per call as ServiceUnavailableError.
    this.queues = new LaneQueues(opts.queueConnection, opts.prefix, opts.partitions ?? DEFAULT_PARTITIONS);
  }

  async begin(req: BeginBatchRequest): Promise<BeginBatchResult> {
    const now = Date.now();
    const id = newBatchId(now);
    const h = req.header;
    const fields: (string | number)[] = [
      'status', 'uploading', 'from', h.from, 'priority', h.priority, 'app', req.app, 'created', now, 'updated', now,
    ]; // prettier-ignore
    if (h.text !== undefined) fields.push('content', h.text);
    if (h.sendAt !== undefined) fields.push('send_at', h.sendAt);
    if (h.deadline !== undefined) fields.push('deadline', h.deadline);
    if (req.key !== undefined) fields.push('key', req.key);
    if (h.callbackUrl !== undefined) fields.push('cb', h.callbackUrl);
    const k = this.keys;
    const idem = req.idempotencyKey !== undefined ? k.idempotency(req.app, req.idempotencyKey) : k.none;
    let existing: string | undefined;
    try {
      // The batch exists before its Idempotency-Key names it: a repeat that finds the key finds the batch.
      await this.redis.ttBatchBegin(k.batch(id), UPLOAD_TTL_MS, ...fields);
      if (req.idempotencyKey !== undefined) {
        existing = await this.claimIdempotency(idem, id, now);
        if (existing !== undefined) await this.redis.del(k.batch(id));
      }
    } catch (err) {
      throw unavailable(err);
    }
    if (existing !== undefined) {
      let h: Record<string, string>;
      try {
        h = await this.redis.hgetall(k.batch(existing));
      } catch (err) {
        throw unavailable(err);
      }
      const view = toBatchView(existing, h);
      if (view) return { duplicate: view, fingerprint: h.fp || undefined };
      throw new ServiceUnavailableError('the batch of this Idempotency-Key is no longer available');
    }
    await this.index(id, now);
    const upload = new BatchUpload(
      {
        redis: this.redis,
        keys: k,
        queues: this.queues,
        view: (bid) => this.get(bid),
        finishedTtlMs: this.finishedTtlMs,
      },
      id,
      h,
      idem,
    );
    return { upload };
  }

  async get(id: string): Promise<BatchView | null> {
    if (!BATCH_ID.test(id)) return null;
    let h: Record<string, string>;
    try {
      h = await this.redis.hgetall(this.keys.batch(id));
    } catch (err) {
      throw unavailable(err);
    }
    return toBatchView(id, h);
  }

  async owner(id: string): Promise<Owner | null> {
    if (!BATCH_ID.test(id)) return null;
    let row: (string | null)[];
    try {
      row = await this.redis.hmget(this.keys.batch(id), 'app', 'key');
    } catch (err) {
      throw unavailable(err);
    }
    const [app, key] = row;
    return app == null ? null : { app, key: key || null };
  }

  /** The newest batches first (at most `limit`), from the recent-batches index; deleted ones are left out. */
  async listRecent(limit: number): Promise<BatchView[]> {
    try {
      const ids = await this.redis.zrevrange(this.keys.recent, 0, Math.max(0, limit - 1));
      // One command per batch, not a pipeline: each batch hash has a Cluster slot of its own.
      const hashes = await Promise.all(ids.map((id) => this.redis.hgetall(this.keys.batch(id))));
      return ids.flatMap((id, i) => {
        const view = toBatchView(id, hashes[i]!);
        return view ? [view] : [];
      });
    } catch (err) {
      throw unavailable(err);
    }
  }

  /** Recipients of batches not known to be finished (P:bactive) that are neither sent, failed nor cancelled. */
  async backlog(): Promise<number> {
    try {
      const ids = await this.redis.zrange(this.keys.active, 0, RECENT_BATCHES - 1);
      const rows = await Promise.all(
        ids.map((id) => this.redis.hmget(this.keys.batch(id), 'status', 'valid', 'sent', 'failed', 'cancelled')),
      );
      let pending = 0;
      for (const [status, valid, sent, failed, cancelled] of rows) {
        if (status !== 'queued' && status !== 'running' && status !== 'paused') continue;
        pending += Math.max(0, Number(valid ?? 0) - Number(sent ?? 0) - Number(failed ?? 0) - Number(cancelled ?? 0));
      }
      return pending;
    } catch (err) {
      throw unavailable(err);
    }
  }

  /**
   * Lists a new batch among the recent ones: single-key commands of their own (Redis Cluster: the index is
   * not in the batch's slot). Best effort: a batch missing from the console's list still sends.
   */
  private async index(id: string, now: number): Promise<void> {
    const recent = this.keys.recent;
    try {
      await this.redis
        .pipeline()
        .zadd(recent, now, id)
        .zremrangebyrank(recent, 0, -(RECENT_BATCHES + 1))
        .exec();
    } catch {
      // Redis went away after the batch was created: the upload fails on its next write.
    }
  }

  async results(id: string, query: BatchResultsQuery): Promise<BatchResultsPage | null> {
    if (!BATCH_ID.test(id)) return null;
    const cursor = parseCursor(query.cursor);
    const meta = await this.meta(id);
    if (!meta) return null;
    const { state, limit } = query;
    const results: BatchResultRow[] = [];
    if (cursor.part === 'chunk' && state !== 'rejected') {
      let n = cursor.chunk;
      let i = cursor.index;
      for (let read = 0; n < meta.chunks && results.length < limit && read < MAX_CHUNKS_PER_PAGE; read++) {
        const cs = await this.chunkState(id, n, meta.valid);
        for (; i < cs.chunk.to.length && results.length < limit; i++) {
          const row = rowOf(cs, i);
          if (state === undefined || row.state === state) results.push(row);
        }
        if (i >= cs.chunk.to.length) {
          n++;
          i = 0;
        }
      }
      if (n < meta.chunks) return { results, next_cursor: encodeCursor({ part: 'chunk', chunk: n, index: i }) };
      if (state !== undefined || meta.rejected === 0) return { results, next_cursor: null };
      if (results.length >= limit) return { results, next_cursor: encodeCursor({ part: 'rejected', index: 0 }) };
    }
    if (state !== undefined && state !== 'rejected') return { results, next_cursor: null };
    const from = cursor.part === 'rejected' ? cursor.index : 0;
    const want = limit - results.length;
    let lines: string[];
    try {
      lines = await this.redis.lrange(this.keys.rejected(id), from, from + want - 1);
    } catch (err) {
      throw unavailable(err);
    }
    for (const l of lines) results.push(rejectedRow(l));
    const next = from + lines.length;
    return {
      results,
      next_cursor:
        next < Math.min(meta.rejected, REJECTED_SAMPLE) && lines.length === want
          ? encodeCursor({ part: 'rejected', index: next })
          : null,
    };
  }

  async exportResults(id: string, state?: BatchResultState): Promise<AsyncIterable<BatchResultRow> | null> {
    if (!BATCH_ID.test(id)) return null;
    const meta = await this.meta(id);
    if (!meta) return null;
    return this.exportRows(id, meta, state);
  }

  private async *exportRows(
    id: string,
    meta: { chunks: number; valid: number; rejected: number },
    state: BatchResultState | undefined,
  ): AsyncGenerator<BatchResultRow> {
    if (state !== 'rejected') {
      for (let n = 0; n < meta.chunks; n++) {
        const cs = await this.chunkState(id, n, meta.valid);
        for (let i = 0; i < cs.chunk.to.length; i++) {
          const row = rowOf(cs, i);
          if (state === undefined || row.state === state) yield row;
        }
      }
    }
    if (state !== undefined && state !== 'rejected') return;
    for (let from = 0; from < Math.min(meta.rejected, REJECTED_SAMPLE); from += 1000) {
      let lines: string[];
      try {
        lines = await this.redis.lrange(this.keys.rejected(id), from, from + 999);
      } catch (err) {
        throw unavailable(err);
      }
      if (lines.length === 0) return;
      for (const l of lines) yield rejectedRow(l);
    }
  }

  cancel(id: string): Promise<BatchActionResult> {
    return this.act(id, (k) => this.redis.ttBatchCancel(k, Date.now(), this.finishedTtlMs, CHUNK_SIZE));
  }

  pause(id: string): Promise<BatchActionResult> {
    return this.act(id, (k) => this.redis.ttBatchPause(k, Date.now()));
  }

  resume(id: string): Promise<BatchActionResult> {
    return this.act(id, (k) => this.redis.ttBatchResume(k, Date.now()));
  }

  /**
   * Makes an Idempotency-Key name batch `id`, unless it names a batch that is alive (anything but an upload that
   * stopped writing UPLOAD_STALE_MS ago): then returns that batch's id. The key and the batches lie on different
   * Cluster slots, so this is a read and a compare-and-set, tried again when another upload moved the key.
   */
  private async claimIdempotency(idem: string, id: string, now: number): Promise<string | undefined> {
    for (let tries = 0; tries < 10; tries++) {
      const current = await this.redis.get(idem);
      if (current) {
        const [status, updated] = await this.redis.hmget(this.keys.batch(current), 'status', 'updated');
        if (status && !(status === 'uploading' && Number(updated) < now - UPLOAD_STALE_MS)) return current;
      }
      const [set] = await this.redis.ttBatchIdemClaim(idem, id, current ?? '');
      if (set === 1) return undefined;
    }
    throw new ServiceUnavailableError('uploads with this Idempotency-Key keep racing: send it again');
  }

  async close(): Promise<void> {
    await this.queues.close();
  }

  private async act(id: string, run: (key: string) => Promise<[number, string?]>): Promise<BatchActionResult> {
    if (!BATCH_ID.test(id)) return { ok: false, reason: 'not_found' };
    let r: [number, string?];
    try {
      r = await run(this.keys.batch(id));
    } catch (err) {
      throw unavailable(err);
    }
    if (r[0] === -1) return { ok: false, reason: 'not_found' };
    const view = await this.get(id);
    if (!view) return { ok: false, reason: 'not_found' };
    return r[0] === 0 ? { ok: false, reason: 'conflict', view } : { ok: true, view };
  }

  private async meta(id: string): Promise<{ chunks: number; valid: number; rejected: number } | null> {
    let v: (string | null)[];
    try {
      v = await this.redis.hmget(this.keys.batch(id), 'status', 'chunks', 'valid', 'rejected');
    } catch (err) {
      throw unavailable(err);
    }
    if (!v[0]) return null;
    return { chunks: Number(v[1] ?? 0), valid: Number(v[2] ?? 0), rejected: Number(v[3] ?? 0) };
  }

  private async chunkState(id: string, n: number, valid: number): Promise<ChunkState> {
    const k = this.keys;
    let got: unknown[];
    try {
      got = await execPipeline(
        this.redis.pipeline().get(k.chunk(id, n)).get(k.results(id, n)).hmget(k.sendState(id, n), 'at', 'pr'),
      );
    } catch (err) {
      throw unavailable(err);
    }
    const [chunkText, resultsText, state] = got as [string | null, string | null, (string | null)[]];
    const size = chunkLength(valid, n);
    // A chunk that expired with its batch reads as empty rather than failing the whole page.
    const chunk = chunkText ? decodeChunk(chunkText) : { to: [], texts: [] };
    const claimed = state[0] !== null && state[0] !== undefined;
    const text = resultsText ?? (state[1] || null);
    return {
      chunk,
      results: text !== null && chunk.to.length === size ? ChunkResults.decode(text, size) : null,
      claimed,
    };
  }
}
