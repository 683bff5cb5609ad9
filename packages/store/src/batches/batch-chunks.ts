/**
 * A batch's chunks as the workers send them: a claim writes the chunk's send state (create_time fixed for the chunk,
 * an attempt number) before anything is sent; partial and final writes are fenced by that attempt number, so a
 * worker that lost its job to another one writes nothing. The final write is the first writer's (results once).
 */
import type { Redis } from 'ioredis';
import { BATCH_FIELDS as F, UPLOAD_STALE_MS, type BatchKeys } from '@ttpush/contract';
import type { BatchCommands } from './batch-commands.ts';
import {
  decodeChunkFinish,
  decodeClaim,
  decodePartial,
  type ChunkClaim,
  type ChunkFinish,
  type PartialWrite,
  type RawClaim,
} from './batch-outcomes.ts';
import { execPipeline, unavailable } from '../redis-errors.ts';

/** A worker's write of what a chunk settled so far (sent and failed counted since its last write). */
export interface PartialResults {
  attempt: string;
  /** ChunkResults text (partial form). */
  results: string;
  /** Nothing is left in doubt: the next attempt need not read anything back. */
  clean: boolean;
  sent: number;
  failed: number;
}

/** A worker's final write of a chunk: its results, and what it counts that no partial write counted. */
export interface FinalResults {
  attempt: string;
  results: string;
  sent: number;
  failed: number;
  cancelled: number;
  /** Recipients these counts settle (they leave `sending`). */
  settled: number;
}

/** What a worker needs to send a chunk: the batch's fields and the chunk's recipients (batch-codec.ts text). */
export interface ChunkToSend {
  from: number;
  content: string | undefined;
  sendAt: number | undefined;
  deadline: number | undefined;
  created: number;
  valid: number;
  app: string | undefined;
  recipients: string;
}

const optionalNumber = (v: string | null | undefined) =>
  v === null || v === undefined || v === '' ? undefined : Number(v);

export class BatchChunks {
  constructor(
    private readonly redis: Redis & BatchCommands,
    private readonly keys: BatchKeys,
    private readonly finishedTtlMs: number,
  ) {}

  /** Chunk n's recipients with the batch fields sending needs; null when the batch or the chunk is gone. */
  async toSend(id: string, n: number): Promise<ChunkToSend | null> {
    let got: unknown[];
    try {
      got = await execPipeline(
        this.redis
          .pipeline()
          .hmget(this.keys.batch(id), F.from, F.content, F.sendAt, F.deadline, F.created, F.valid, F.app)
          .get(this.keys.chunk(id, n)),
      );
    } catch (err) {
      throw unavailable(err);
    }
    const [meta, recipients] = got as [(string | null)[], string | null];
    if (!meta[0] || !recipients) return null;
    return {
      from: Number(meta[0]),
      content: meta[1] ?? undefined,
      sendAt: optionalNumber(meta[2]),
      deadline: optionalNumber(meta[3]),
      created: Number(meta[4]),
      valid: Number(meta[5] ?? 0),
      app: meta[6] ?? undefined,
      recipients,
    };
  }

  /** Takes chunk n (of `size` recipients) for a new attempt: its send state is written before anything is sent. */
  async claim(id: string, n: number, size: number, now = Date.now()): Promise<ChunkClaim> {
    const k = this.keys;
    let raw: RawClaim;
    try {
      raw = await this.redis.ttBatchClaim(
        k.batch(id), k.sendState(id, n), k.results(id, n),
        now, Math.floor(now / 1000), size, UPLOAD_STALE_MS,
      ); // prettier-ignore
    } catch (err) {
      throw unavailable(err);
    }
    return decodeClaim(raw);
  }

  /** Records what chunk n settled so far, and counts it; 'lost' when another attempt owns the chunk. */
  async writePartial(id: string, n: number, p: PartialResults, now = Date.now()): Promise<PartialWrite> {
    const k = this.keys;
    let raw: number;
    try {
      raw = await this.redis.ttBatchPartial(
        k.batch(id), k.sendState(id, n),
        p.attempt, p.results, p.clean ? '1' : '0', p.sent, p.failed, now,
      ); // prettier-ignore
    } catch (err) {
      throw unavailable(err);
    }
    return decodePartial(raw);
  }

  /** Writes chunk n's results and counts them; 'finished' when it was the batch's last chunk. */
  async finish(id: string, n: number, f: FinalResults, now = Date.now()): Promise<ChunkFinish> {
    const k = this.keys;
    let raw: number;
    try {
      raw = await this.redis.ttBatchFinishChunk(
        k.batch(id), k.sendState(id, n), k.results(id, n),
        f.attempt, f.results, f.sent, f.failed, f.cancelled, f.settled, now, this.finishedTtlMs,
      ); // prettier-ignore
    } catch (err) {
      throw unavailable(err);
    }
    return decodeChunkFinish(raw);
  }
}
