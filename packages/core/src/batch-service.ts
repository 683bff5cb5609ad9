/**
 * The API side of batches: starts uploads, reads a batch's view and its per-recipient results, and
 * cancels, pauses and resumes it. Workers send the chunks (apps/worker chunk-processor.ts).
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { LANE_QUEUE } from './keys.ts';
import {
  BATCH_ID,
  BatchKeys,
  CHUNK_SIZE,
  FINISHED_BATCH_TTL_MS,
  UPLOAD_STALE_MS,
  UPLOAD_TTL_MS,
  chunkLength,
  newBatchId,
  type ChunkJobData,
} from './batch-keys.ts';
import { defineBatchScripts, type BatchScriptedRedis } from './batch-scripts.ts';
import { BatchUpload } from './batch-upload.ts';
import { execPipeline, unavailable } from './batch-redis.ts';
import { toBatchView } from './batch-view.ts';
import {
  ChunkResults,
  RESULT_CANCELLED,
  RESULT_FAILED,
  RESULT_SENT,
  decodeChunk,
  encodeCursor,
  parseCursor,
  type DecodedChunk,
} from './batch-codec.ts';
import type {
  BatchActionResult,
  BatchResultRow,
  BatchResultState,
  BatchResultsPage,
  BatchResultsQuery,
  BatchService,
  BatchView,
  BeginBatchRequest,
  BeginBatchResult,
  RejectedInput,
} from './batch-types.ts';
import { FAILURE_CODES, ServiceUnavailableError } from './types.ts';

/** Chunks one results page reads at most: a page may come back short, its cursor goes on from there. */
const MAX_CHUNKS_PER_PAGE = 20;

export interface RedisBatchServiceOptions {
  /** Commands: fail fast (producerRedis). */
  redis: Redis;
  prefix: string;
  /** BullMQ's connection (may be shared with the message service's queue). */
  queueConnection: Redis;
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
  readonly queue: Queue<ChunkJobData>;

  constructor(opts: RedisBatchServiceOptions) {
    this.redis = defineBatchScripts(opts.redis);
    this.keys = new BatchKeys(opts.prefix);
    this.queue = new Queue<ChunkJobData>(LANE_QUEUE, { connection: opts.queueConnection, prefix: opts.prefix });
    this.queue.on('error', () => {
      /* surfaced per call as ServiceUnavailableError */
    });
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
    if (h.callbackUrl !== undefined) fields.push('cb', h.callbackUrl);
    const k = this.keys;
    const idem = req.idempotencyKey !== undefined ? k.idempotency(req.app, req.idempotencyKey) : k.none;
    let created: number;
    let existing: string;
    try {
      [created, existing] = await this.redis.ttBatchBegin(
        k.batch(id), idem,
        id, req.idempotencyKey !== undefined ? '1' : '0', now, UPLOAD_STALE_MS, k.prefix, UPLOAD_TTL_MS, ...fields,
      ); // prettier-ignore
    } catch (err) {
      throw unavailable(err);
    }
    if (created === 0) {
      const view = await this.get(existing);
      if (view) return { duplicate: view };
      throw new ServiceUnavailableError('the batch of this Idempotency-Key is no longer available');
    }
    const upload = new BatchUpload(
      { redis: this.redis, keys: k, queue: this.queue, view: (bid) => this.get(bid) },
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
      next_cursor: next < meta.rejected ? encodeCursor({ part: 'rejected', index: next }) : null,
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
    for (let from = 0; from < meta.rejected; from += 1000) {
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
    return this.act(id, (k) => this.redis.ttBatchCancel(k, Date.now(), FINISHED_BATCH_TTL_MS, CHUNK_SIZE));
  }

  pause(id: string): Promise<BatchActionResult> {
    return this.act(id, (k) => this.redis.ttBatchPause(k, Date.now()));
  }

  resume(id: string): Promise<BatchActionResult> {
    return this.act(id, (k) => this.redis.ttBatchResume(k, Date.now()));
  }

  async close(): Promise<void> {
    await this.queue.close().catch(() => undefined);
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
