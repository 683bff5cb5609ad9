/**
 * One upload in progress, on the API side: dedupes recipients in memory, writes each chunk to Redis as it
 * fills (a few writes in flight at once; the caller waits when more are pending, so a fast client cannot
 * outrun Redis), and only when the whole upload was read marks the batch queued and adds its chunk jobs.
 */
import type { JobsOptions } from 'bullmq';
import {
  BatchTooLargeError,
  CHUNK_JOB,
  CHUNK_SIZE,
  JOB_PRIORITY,
  MAX_BATCH_RECIPIENTS,
  REJECTED_SAMPLE,
  chunkJobId,
  type BatchHeader,
  type BatchRecipient,
  type BatchView,
  type Priority,
  type RejectedInput,
} from '@ttpush/contract';
import { ScriptStateError, ServiceUnavailableError } from '../errors.ts';
import type { LaneQueue, LaneQueues } from '../lane-queues.ts';
import { encodeRecipient } from './batch-codec.ts';
import { RecipientSet } from './recipient-set.ts';
import type { BatchIdempotency, BatchStore } from './batch-store.ts';
import type { BatchUploadHandle } from './batch-upload-types.ts';
import { unavailable } from '../redis-errors.ts';

/** Redis writes of one upload in flight at once before add() asks the caller to wait. */
const MAX_PENDING_WRITES = 4;
/** Refused inputs written per RPUSH. */
const REJECTED_PER_WRITE = 500;
/** Chunk jobs per addBulk call. */
const JOBS_PER_ADD = 1000;
/** A chunk job whose processor throws (Redis down, a bug) is retried this often, a second apart. */
const CHUNK_JOB_ATTEMPTS = 10_000;

/** The options of chunk n's job: the upload and the workers' reconciler add it alike, under one job id. */
export function chunkJobOptions(id: string, n: number, priority: Priority, delayMs: number): JobsOptions {
  return {
    jobId: chunkJobId(id, n),
    priority: JOB_PRIORITY[priority] ?? JOB_PRIORITY.normal,
    removeOnComplete: true,
    removeOnFail: 1000,
    attempts: CHUNK_JOB_ATTEMPTS,
    backoff: { type: 'fixed', delay: 1000 },
    ...(delayMs > 0 && { delay: delayMs }),
  };
}

export interface BatchUploadDeps {
  store: BatchStore;
  /** The partitions' queues: chunk n's job goes to queues.forChunk(id, n). */
  queues: LaneQueues;
}

export class BatchUpload implements BatchUploadHandle {
  private readonly seen = new RecipientSet();
  private current: string[] = [];
  private rejectedLines: string[] = [];
  private chunksWritten = 0;
  private valid = 0;
  private duplicates = 0;
  private rejectedCount = 0;
  private readonly writes = new Set<Promise<void>>();
  private failure: unknown;

  constructor(
    private readonly deps: BatchUploadDeps,
    readonly id: string,
    private readonly header: BatchHeader,
    /** The Idempotency-Key this upload claimed, if any: let go when it is aborted. */
    private readonly idempotency?: BatchIdempotency | undefined,
  ) {}

  get accepted(): number {
    return this.valid;
  }

  get rejected(): number {
    return this.rejectedCount;
  }

  add(recipient: BatchRecipient): Promise<void> | undefined {
    if (!this.seen.add(recipient.to)) {
      this.duplicates++;
      return undefined;
    }
    // (The one over the limit was added to `seen`: the upload fails with it.)
    if (this.valid >= MAX_BATCH_RECIPIENTS) {
      throw new BatchTooLargeError(`a batch holds at most ${MAX_BATCH_RECIPIENTS} recipients`);
    }
    this.valid++;
    // A recipient's own text equal to the batch content is stored once, as the batch content.
    const own = recipient.text !== undefined && recipient.text !== this.header.text;
    this.current.push(encodeRecipient(own ? recipient : { to: recipient.to }));
    return this.current.length >= CHUNK_SIZE ? this.flushChunk() : undefined;
  }

  reject(input: RejectedInput): Promise<void> | undefined {
    // Counted always, listed only among the first REJECTED_SAMPLE: the rest would cost Redis without bound.
    if (this.rejectedCount++ >= REJECTED_SAMPLE) return undefined;
    this.rejectedLines.push(JSON.stringify(input));
    return this.rejectedLines.length >= REJECTED_PER_WRITE ? this.flushRejected() : undefined;
  }

  async finish(fingerprint?: string): Promise<BatchView> {
    const { store, queues } = this.deps;
    this.flushChunk();
    this.flushRejected();
    if (fingerprint !== undefined) this.track(store.writeFingerprint(this.id, fingerprint));
    await Promise.all(this.writes);
    if (this.failure) throw unavailable(this.failure);
    const id = this.id;
    const chunks = this.chunksWritten;
    const now = Date.now();
    let state: 'queued' | 'completed';
    try {
      // Listed before it is queued: should the job adds below fail with Redis, the reconciler finds it.
      if (chunks > 0) await store.index.activate(id, Math.max(now, this.header.sendAt ?? 0));
      const counts = { valid: this.valid, chunks, rejected: this.rejectedCount, duplicates: this.duplicates };
      state = await store.finishUpload(id, counts, now);
    } catch (err) {
      if (err instanceof ScriptStateError) {
        throw new ServiceUnavailableError('the upload was lost (its keys expired): send it again', { cause: err });
      }
      throw unavailable(err);
    }
    if (state === 'queued' && chunks > 0) {
      const priority = this.header.priority;
      const delay = this.header.sendAt !== undefined && this.header.sendAt > now ? this.header.sendAt - now : 0;
      // Each chunk goes to LaneQueues.forChunk's queue (where the workers' batch reviver looks for it): grouped per
      // queue, one addBulk per queue (a queue's keys share one Cluster slot) of JOBS_PER_ADD jobs at most.
      const perQueue = new Map<LaneQueue, number[]>();
      for (let c = 0; c < chunks; c++) {
        const q = queues.forChunk(id, c);
        const ns = perQueue.get(q);
        if (ns) ns.push(c);
        else perQueue.set(q, [c]);
      }
      let added = false;
      try {
        // Queues in partition order: a failure part-way leaves the earlier partitions' chunks queued.
        for (let p = 0; p < queues.partitions; p++) {
          const queue = queues.partition(p);
          const ns = perQueue.get(queue) ?? [];
          for (let first = 0; first < ns.length; first += JOBS_PER_ADD) {
            await queue.addBulk(
              ns.slice(first, first + JOBS_PER_ADD).map((c) => ({
                name: CHUNK_JOB,
                data: { batch: id, chunk: c },
                opts: chunkJobOptions(id, c, priority, delay),
              })),
            );
            added = true;
          }
        }
      } catch (err) {
        // Nothing queued: take the batch back whole, so a retry with the same Idempotency-Key starts clean.
        if (!added) {
          await this.abort();
          throw unavailable(err);
        }
        // Some chunks are queued and may be sending: taking the batch back would let a retry send them again.
        // It stays, listed in P:bactive; the workers' batch reviver adds the missing chunk jobs when it sees no
        // progress (BATCH_STALL_MS).
      }
    }
    const view = await store.view(id);
    if (!view) throw new ServiceUnavailableError('the batch disappeared right after its upload: send it again');
    return view;
  }

  async abort(): Promise<void> {
    await Promise.allSettled(this.writes);
    const { store } = this.deps;
    try {
      await store.abort(this.id, this.chunksWritten);
      if (this.idempotency !== undefined) await store.releaseIdempotency(this.idempotency, this.id);
    } catch {
      // Redis is down: the upload's keys expire by themselves (UPLOAD_TTL_MS).
    }
  }

  private track(write: Promise<unknown>): Promise<void> | undefined {
    const w: Promise<void> = write.then(
      () => {
        this.writes.delete(w);
      },
      (err: unknown) => {
        this.writes.delete(w);
        this.failure ??= err;
      },
    );
    this.writes.add(w);
    if (this.failure) throw unavailable(this.failure);
    if (this.writes.size < MAX_PENDING_WRITES) return undefined;
    return Promise.race(this.writes).then(() => {
      if (this.failure) throw unavailable(this.failure);
    });
  }

  private flushChunk(): Promise<void> | undefined {
    if (this.current.length === 0) return undefined;
    const n = this.chunksWritten++;
    const text = `[${this.current.join(',')}]`;
    this.current = [];
    return this.track(this.deps.store.writeChunk(this.id, n, text, Date.now()));
  }

  private flushRejected(): Promise<void> | undefined {
    if (this.rejectedLines.length === 0) return undefined;
    const lines = this.rejectedLines;
    this.rejectedLines = [];
    return this.track(this.deps.store.writeRejected(this.id, lines, Date.now()));
  }
}
