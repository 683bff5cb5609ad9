/**
 * Everything batches keep in Redis, behind typed methods: the api's uploads, views, results and transitions, the
 * workers' chunk claims and writes (`chunks`, batch-chunks.ts), the active set and recent index (`index`). Every
 * method builds its keys from BatchKeys; every key of a batch shares the batch's hash tag {<id>}, so its scripts stay
 * on one Redis Cluster slot (the Idempotency-Key, the active set and the recent index are keys of their own slots,
 * never in a batch's script). Redis errors surface as ServiceUnavailableError; a script reply the caller cannot go
 * on from as ScriptStateError.
 *
 * Counters: `sending` counts recipients of chunks a worker claimed and has not settled; `queued` is derived
 * (valid - sending - sent - failed - cancelled).
 */
import type { Redis } from 'ioredis';
import {
  BATCH_FIELDS as F,
  BatchKeys,
  CHUNK_SIZE,
  FINISHED_BATCH_TTL_MS,
  UPLOAD_STALE_MS,
  UPLOAD_TTL_MS,
  type BatchHeader,
  type BatchResultRow,
  type BatchResultState,
  type BatchResultsPage,
  type BatchResultsQuery,
  type BatchView,
  type Owner,
} from '@ttpush/contract';
import { ServiceUnavailableError } from '../errors.ts';
import { defineLuaScripts } from '../scripts-loader.ts';
import { toBatchView, type BatchHash } from './batch-view.ts';
import { BatchResultsReader } from './batch-results.ts';
import { BatchIndex } from './batch-index.ts';
import { BatchChunks } from './batch-chunks.ts';
import { BATCH_SCRIPTS, type Arg, type BatchCommands } from './batch-commands.ts';
import { execPipeline, unavailable } from '../redis-errors.ts';
import {
  decodeTransition,
  decodeUploadFinish,
  type BatchTransition,
  type RawTransition,
  type UploadFinish,
} from './batch-outcomes.ts';

/** An Idempotency-Key of an app. */
export interface BatchIdempotency {
  app: string;
  key: string;
}

export interface NewBatch {
  id: string;
  app: string;
  /** The public id of the key that sent it. */
  key?: string | undefined;
  header: BatchHeader;
  now: number;
}

/** What an upload counted once every recipient was read. */
export interface UploadCounts {
  valid: number;
  chunks: number;
  rejected: number;
  duplicates: number;
}

export interface BatchStoreOptions {
  /** TTPUSH_RECORD_TTL: a finished batch is kept this long (default FINISHED_BATCH_TTL_MS). */
  finishedTtlMs?: number | undefined;
}

export class BatchStore {
  private readonly redis: Redis & BatchCommands;
  private readonly keys: BatchKeys;
  private readonly finishedTtlMs: number;
  private readonly reader: BatchResultsReader;
  /** The active set and the recent index: the reconciler's and the console's views of many batches. */
  readonly index: BatchIndex;
  /** Chunk claims and writes: the workers' side. */
  readonly chunks: BatchChunks;

  constructor(redis: Redis, prefix: string, opts: BatchStoreOptions = {}) {
    this.redis = defineLuaScripts<BatchCommands>(redis, BATCH_SCRIPTS);
    this.keys = new BatchKeys(prefix);
    this.finishedTtlMs = opts.finishedTtlMs ?? FINISHED_BATCH_TTL_MS;
    this.reader = new BatchResultsReader(redis, this.keys);
    this.index = new BatchIndex(redis, prefix);
    this.chunks = new BatchChunks(this.redis, this.keys, this.finishedTtlMs);
  }

  /** The batch's hash ({} when there is none). */
  async hash(id: string): Promise<BatchHash> {
    try {
      return await this.redis.hgetall(this.keys.batch(id));
    } catch (err) {
      throw unavailable(err);
    }
  }

  async view(id: string): Promise<BatchView | null> {
    return toBatchView(id, await this.hash(id));
  }

  /** The app and key id that sent a batch (key null for batches from before keys were recorded). */
  async owner(id: string): Promise<Owner | null> {
    let row: (string | null)[];
    try {
      row = await this.redis.hmget(this.keys.batch(id), F.app, F.key);
    } catch (err) {
      throw unavailable(err);
    }
    const [app, key] = row;
    return app == null ? null : { app, key: key || null };
  }

  /** The batch's status, null when it is gone. */
  async status(id: string): Promise<string | null> {
    try {
      return await this.redis.hget(this.keys.batch(id), F.status);
    } catch (err) {
      throw unavailable(err);
    }
  }

  /** A page of a batch's per-recipient results; null: no such batch. Throws BatchCursorError for a foreign cursor. */
  results(id: string, query: BatchResultsQuery): Promise<BatchResultsPage | null> {
    return this.reader.page(id, query);
  }

  /** Every result (filtered by state), read chunk by chunk as it is iterated; null: no such batch. */
  exportResults(id: string, state?: BatchResultState): Promise<AsyncIterable<BatchResultRow> | null> {
    return this.reader.all(id, state);
  }

  // ---- uploads (the api) ----

  /** Writes a new batch, status uploading; its keys expire after UPLOAD_TTL_MS unless the upload finishes. */
  async begin(b: NewBatch): Promise<void> {
    const h = b.header;
    const fields: Arg[] = [
      F.status, 'uploading', F.from, h.from, F.priority, h.priority, F.app, b.app, F.created, b.now, F.updated, b.now,
    ]; // prettier-ignore
    if (h.text !== undefined) fields.push(F.content, h.text);
    if (h.sendAt !== undefined) fields.push(F.sendAt, h.sendAt);
    if (h.deadline !== undefined) fields.push(F.deadline, h.deadline);
    if (b.key !== undefined) fields.push(F.key, b.key);
    if (h.callbackUrl !== undefined) fields.push(F.callbackUrl, h.callbackUrl);
    try {
      await this.redis.ttBatchBegin(this.keys.batch(b.id), UPLOAD_TTL_MS, ...fields);
    } catch (err) {
      throw unavailable(err);
    }
  }

  /**
   * Makes an Idempotency-Key name batch `id`, unless it names a batch that is alive (anything but an upload that
   * stopped writing UPLOAD_STALE_MS ago): then returns that batch's id. The key and the batches lie on different
   * Cluster slots, so this is a read and a compare-and-set, tried again when another upload moved the key.
   */
  async claimIdempotency(idem: BatchIdempotency, id: string, now: number): Promise<string | undefined> {
    const key = this.keys.idempotency(idem.app, idem.key);
    try {
      for (let tries = 0; tries < 10; tries++) {
        const current = await this.redis.get(key);
        if (current) {
          const [status, updated] = await this.redis.hmget(this.keys.batch(current), F.status, F.updated);
          if (status && !(status === 'uploading' && Number(updated) < now - UPLOAD_STALE_MS)) return current;
        }
        const [set] = await this.redis.ttBatchIdemClaim(key, id, current ?? '');
        if (set === 1) return undefined;
      }
    } catch (err) {
      throw unavailable(err);
    }
    throw new ServiceUnavailableError('uploads with this Idempotency-Key keep racing: send it again');
  }

  /** Lets go of an Idempotency-Key that still names batch `id`. */
  async releaseIdempotency(idem: BatchIdempotency, id: string): Promise<void> {
    try {
      await this.redis.ttBatchIdemRelease(this.keys.idempotency(idem.app, idem.key), id);
    } catch (err) {
      throw unavailable(err);
    }
  }

  /** Writes chunk n's recipients (batch-codec.ts text) and notes the upload is alive. Rejects on a Redis error. */
  writeChunk(id: string, n: number, recipients: string, now: number): Promise<unknown> {
    const pipe = this.redis
      .pipeline()
      .set(this.keys.chunk(id, n), recipients, 'PX', UPLOAD_TTL_MS)
      .hset(this.keys.batch(id), F.updated, now);
    return execPipeline(pipe);
  }

  /** Appends refused inputs (JSON each) to the batch's rejected list. Rejects on a Redis error. */
  writeRejected(id: string, lines: string[], now: number): Promise<unknown> {
    const key = this.keys.rejected(id);
    const pipe = this.redis
      .pipeline()
      .rpush(key, ...lines)
      .pexpire(key, UPLOAD_TTL_MS)
      .hset(this.keys.batch(id), F.updated, now);
    return execPipeline(pipe);
  }

  /** Keeps the upload's request fingerprint with the batch. Rejects on a Redis error. */
  writeFingerprint(id: string, fingerprint: string): Promise<unknown> {
    return this.redis.hset(this.keys.batch(id), F.fingerprint, fingerprint);
  }

  /** Marks an upload queued (or completed: nothing to send); throws ScriptStateError when it is no longer uploading. */
  async finishUpload(id: string, counts: UploadCounts, now: number): Promise<UploadFinish> {
    let raw: number;
    try {
      raw = await this.redis.ttBatchFinishUpload(
        this.keys.batch(id), this.keys.rejected(id),
        now, counts.valid, counts.chunks, counts.rejected, counts.duplicates, this.finishedTtlMs,
      ); // prettier-ignore
    } catch (err) {
      throw unavailable(err);
    }
    return decodeUploadFinish(raw);
  }

  /** Deletes an upload: its hash, its first `chunks` chunks and its rejected inputs. */
  async abort(id: string, chunks: number): Promise<void> {
    try {
      await this.redis.ttBatchAbort(this.keys.batch(id), this.keys.rejected(id), chunks);
    } catch (err) {
      throw unavailable(err);
    }
  }

  // ---- transitions (the api) ----

  async cancel(id: string, now = Date.now()): Promise<BatchTransition> {
    return this.transition('batch-cancel', () =>
      this.redis.ttBatchCancel(this.keys.batch(id), now, this.finishedTtlMs, CHUNK_SIZE),
    );
  }

  async pause(id: string, now = Date.now()): Promise<BatchTransition> {
    return this.transition('batch-pause', () => this.redis.ttBatchPause(this.keys.batch(id), now));
  }

  async resume(id: string, now = Date.now()): Promise<BatchTransition> {
    return this.transition('batch-resume', () => this.redis.ttBatchResume(this.keys.batch(id), now));
  }

  private async transition(script: string, run: () => Promise<RawTransition>): Promise<BatchTransition> {
    let raw: RawTransition;
    try {
      raw = await run();
    } catch (err) {
      throw unavailable(err);
    }
    return decodeTransition(raw, script);
  }
}
