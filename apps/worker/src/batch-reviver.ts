/**
 * The reconciler's safety net for batches: a batch whose upload marked it queued but whose chunk jobs were
 * never added (Redis failed in between), or one of whose chunk jobs failed for good, would never finish.
 * A batch listed in P:bactive that made no progress for `stallMs` gets the job of every chunk without results
 * and without a live job added again, under the chunk's own job id (BullMQ ignores an add whose id exists),
 * so two workers doing this at once add each job once. Cheap when there is nothing to do: one ZRANGEBYSCORE.
 */
import type { Logger } from 'pino';
import { CHUNK_JOB, chunkJobId, type Priority } from '@ttpush/contract';
import { chunkJobOptions, type BatchIndex, type LaneQueue, type LaneQueues } from '@ttpush/store';

/** Batches looked at per pass. */
const PER_PASS = 20;
/** Chunks whose state is read per Redis round trip. */
const CHUNKS_PER_READ = 500;

export class BatchReviver {
  private nextPass = 0;

  constructor(
    private readonly batches: BatchIndex,
    private readonly queues: LaneQueues,
    private readonly log: Logger,
    /** How long a batch may go without progress (its `updated`, or its send_at) before its jobs are checked. */
    readonly stallMs: number,
    /** Pause between two passes. */
    private readonly everyMs = Math.min(1000, stallMs),
  ) {}

  /** Revives the stalled batches of P:bactive, drops finished or vanished ones from it. Returns chunk jobs added. */
  async tick(now = Date.now()): Promise<number> {
    if (now < this.nextPass) return 0;
    this.nextPass = now + this.everyMs;
    const ids = await this.batches.stalled(now - this.stallMs, PER_PASS);
    let added = 0;
    for (const id of ids) added += await this.check(id, now);
    return added;
  }

  private async check(id: string, now: number): Promise<number> {
    const b = await this.batches.progress(id);
    if (!b || b.finished || b.status === 'completed') {
      await this.batches.deactivate(id);
      return 0;
    }
    const since = Math.max(b.updated, b.sendAt);
    // Moving, or waiting for its upload or a resume: look again once it could have stalled.
    const waiting = b.status === 'uploading' || b.status === 'paused';
    if (waiting || now - since < this.stallMs) {
      await this.batches.activate(id, waiting ? now : since);
      return 0;
    }
    let added = 0;
    for (let first = 0; first < b.chunks; first += CHUNKS_PER_READ) {
      const ns = Array.from({ length: Math.min(CHUNKS_PER_READ, b.chunks - first) }, (_, i) => first + i);
      added += await this.revive(id, ns, b.priority, b.sendAt - now);
    }
    if (added > 0)
      this.log.warn({ batch: id, added }, 'batch stalled with chunks left without a job: jobs added again');
    await this.batches.activate(id, now);
    return added;
  }

  /** Adds the jobs of chunks `ns` that have neither results nor a live job. */
  private async revive(id: string, ns: number[], priority: Priority, delayMs: number): Promise<number> {
    // A batch's keys share one Cluster slot; its chunks' jobs lie in the queues of several partitions (one slot
    // each): one pipeline for the former, one per queue for the latter.
    const open = await this.batches.openChunks(id, ns);
    if (open.length === 0) return 0;
    const byQueue = new Map<LaneQueue, number[]>();
    for (const n of open) {
      const q = this.queues.forChunk(id, n);
      byQueue.set(q, [...(byQueue.get(q) ?? []), n]);
    }
    let added = 0;
    for (const [queue, chunks] of byQueue) {
      const jobs = await this.batches.jobs(
        queue,
        chunks.map((n) => chunkJobId(id, n)),
      );
      for (let i = 0; i < chunks.length; i++) {
        const n = chunks[i]!;
        if (jobs[i] === 'live') continue; // waiting, delayed, prioritized or active
        // A job kept after failing for good holds its id: remove it so the add below is not ignored.
        if (jobs[i] === 'ended') await queue.remove(chunkJobId(id, n));
        await queue.add(CHUNK_JOB, { batch: id, chunk: n }, chunkJobOptions(id, n, priority, delayMs));
        added++;
      }
    }
    return added;
  }
}
