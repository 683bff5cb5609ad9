/**
 * A batch's per-recipient results as pages and as a stream: each chunk's recipients beside its results (written once
 * when it ended), else the partial results of a chunk still sending; then the rejected inputs the batch lists.
 */
import type { Redis } from 'ioredis';
import {
  BATCH_FIELDS as F,
  FAILURE_CODES,
  REJECTED_SAMPLE,
  chunkLength,
  type BatchKeys,
  type BatchResultRow,
  type BatchResultState,
  type BatchResultsPage,
  type BatchResultsQuery,
  type RejectedInput,
} from '@ttpush/contract';
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
import { execPipeline, unavailable } from '../redis-errors.ts';

/** Chunks one results page reads at most: a page may come back short, its cursor goes on from there. */
const MAX_CHUNKS_PER_PAGE = 20;
/** Rejected inputs read per LRANGE of an export. */
const REJECTED_PER_READ = 1000;

interface Meta {
  chunks: number;
  valid: number;
  rejected: number;
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

export class BatchResultsReader {
  constructor(
    private readonly redis: Redis,
    private readonly keys: BatchKeys,
  ) {}

  async page(id: string, query: BatchResultsQuery): Promise<BatchResultsPage | null> {
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
    const lines = await this.rejected(id, from, want);
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

  async all(id: string, state?: BatchResultState): Promise<AsyncIterable<BatchResultRow> | null> {
    const meta = await this.meta(id);
    if (!meta) return null;
    return this.rows(id, meta, state);
  }

  private async *rows(id: string, meta: Meta, state: BatchResultState | undefined): AsyncGenerator<BatchResultRow> {
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
    for (let from = 0; from < Math.min(meta.rejected, REJECTED_SAMPLE); from += REJECTED_PER_READ) {
      const lines = await this.rejected(id, from, REJECTED_PER_READ);
      if (lines.length === 0) return;
      for (const l of lines) yield rejectedRow(l);
    }
  }

  private async rejected(id: string, from: number, count: number): Promise<string[]> {
    try {
      return await this.redis.lrange(this.keys.rejected(id), from, from + count - 1);
    } catch (err) {
      throw unavailable(err);
    }
  }

  private async meta(id: string): Promise<Meta | null> {
    let v: (string | null)[];
    try {
      v = await this.redis.hmget(this.keys.batch(id), F.status, F.chunks, F.valid, F.rejected);
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
