/**
 * Sends one chunk of a batch (a CHUNK_JOB of the lanes queue): up to CHUNK_SIZE recipients pipelined to
 * db_proxy_server, results written back in one Redis step when the chunk ends.
 *
 * No loss, no duplicate: the claim (Lua) writes the chunk's send state (a create_time fixed for the chunk,
 * an attempt number) before its first request leaves. An attempt that finds a send state left by an
 * earlier one that may have sent (a worker killed mid-chunk, a lost job) reads back every recipient
 * without a result and sends only those not found. Pause and shutdown stop between windows and record
 * what is settled (the partial results), marked clean when nothing is left in doubt.
 *
 * Cancel and pause are seen within statusTtlMs plus one window of replies; the chunk job moves itself to
 * BullMQ's delayed set while its batch is paused or not yet due (moveToDelayed + DelayedError).
 *
 * Progress: every progressMs a chunk still sending records what it has settled so far (sent and failed) like an
 * interruption does (the send state's partial results, the batch counters), through the same fenced script. What
 * one write counted is marked in the attempt's `counted`, so the final write adds only the rest; an attempt that
 * takes over after a crash starts from the recorded partial results, so nothing is counted twice.
 */
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { BATCH_ID, chunkLength, type ChunkJobData, type FailureCode } from '@ttpush/contract';
import {
  ChunkResults,
  RESULT_CANCELLED,
  RESULT_FAILED,
  RESULT_NONE,
  RESULT_SENT,
  decodeChunk,
  type BatchStore,
  type DecodedChunk,
} from '@ttpush/store';
import type { TeamTalk } from './teamtalk.ts';
import type { WorkerStats } from './stats.ts';
import { BatchStatusCache } from './batch-status-cache.ts';
import { ChunkSender, type ChunkTarget } from './chunk-sender.ts';
import { ChunkDoubt } from './chunk-doubt.ts';
import type { DbProxyHealth } from './db-proxy-health.ts';
import { Slots } from './slots.ts';
import type { RateThrottles } from './rate-throttles.ts';
import type { WebhookEmitter } from './webhooks/emitter.ts';

/** What the processor uses of a chunk job (BullMQ's Job has more): a test can hand it just this. */
export type ChunkJob = Pick<Job<ChunkJobData>, 'id' | 'data' | 'moveToDelayed'>;
export interface ChunkOptions {
  /** A message TeamTalk could not take for this long (from acceptance or send_at) fails as teamtalk_unavailable. */
  maxMessageAgeMs: number;
  /**
   * After stores without reply (or lost with their connection): how long db_proxy must answer again before
   * recipients read back absent are sent again (TTPUSH_TEAMTALK_SETTLE_MS).
   */
  settleMs: number;
  /** Chunks this worker sends at once. */
  concurrency: number;
  /** Requests of one chunk in flight at once. */
  window: number;
  /** Messages issued between two looks at the batch status (cancel, pause). */
  checkEvery: number;
  /** How old the cached batch status may be. */
  statusTtlMs: number;
  /** How long a chunk of a paused batch waits in the delayed set before it looks again. */
  pausedRecheckMs: number;
  /**
   * How often a chunk still sending publishes what it has settled (one Redis call), so a batch's counts and rate
   * move while a long (paced) chunk sends, not only when it ends.
   */
  progressMs: number;
}

export const CHUNK_DEFAULTS = {
  concurrency: 8,
  window: 250,
  checkEvery: 100,
  statusTtlMs: 200,
  pausedRecheckMs: 1000,
  progressMs: 1000,
} as const;

type Interruption = 'stopping' | 'cancelled' | 'paused' | 'expired';

const BACKOFF_START_MS = 100;
const BACKOFF_MAX_MS = 5000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One attempt at a chunk: what it is, and which outcomes the batch counters already include. */
interface Attempt {
  id: string;
  n: number;
  attempt: string;
  /** Outcome states already counted in the batch (by an earlier partial write). */
  counted: Uint8Array;
  deadline: number | undefined;
  ageLimit: number;
}

export class ChunkProcessor {
  stopping = false;
  /** Webhooks: told when a batch finishes (set by the worker). */
  events: WebhookEmitter | undefined;
  /** Told of deliberate silences, so they do not count towards a degraded db_proxy (set by the worker). */
  health: DbProxyHealth | undefined;
  private readonly slots: Slots;
  private readonly statuses: BatchStatusCache;
  private readonly sender: ChunkSender;

  constructor(
    private readonly batches: BatchStore,
    private readonly tt: TeamTalk,
    private readonly stats: WorkerStats,
    private readonly log: Logger,
    private readonly opts: ChunkOptions,
    throttles?: RateThrottles,
  ) {
    this.slots = new Slots(opts.concurrency);
    this.statuses = new BatchStatusCache(batches, opts.statusTtlMs);
    this.sender = new ChunkSender(tt, stats, opts.window, opts.checkEvery, throttles);
  }

  async process(job: ChunkJob, token: string | undefined): Promise<string> {
    const data = job.data as Partial<ChunkJobData> | undefined;
    const id = data?.batch;
    const n = data?.chunk;
    if (typeof id !== 'string' || !BATCH_ID.test(id) || typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
      throw new UnrecoverableError(`chunk job ${job.id} has malformed data`);
    }
    const wait = this.slots.acquire();
    if (wait) await wait;
    try {
      // Shutting down: hand the chunk back at once rather than start it.
      if (this.stopping) return await this.later(job, token, Date.now());
      return await this.run(job, token, id, n);
    } finally {
      this.slots.release();
    }
  }

  /** Puts the job back in BullMQ's delayed set until `at` (unix ms); BullMQ counts no attempt for it. */
  private async later(job: ChunkJob, token: string | undefined, at: number): Promise<never> {
    await job.moveToDelayed(at, token);
    throw new DelayedError();
  }

  private async run(job: ChunkJob, token: string | undefined, id: string, n: number): Promise<string> {
    const c = await this.batches.chunks.toSend(id, n);
    if (!c) return 'missing';
    const dueAt = c.sendAt ?? c.created;
    const now = Date.now();
    if (c.sendAt !== undefined && c.sendAt > now) return this.later(job, token, c.sendAt);

    let chunk: DecodedChunk;
    try {
      chunk = decodeChunk(c.recipients);
    } catch (err) {
      throw new UnrecoverableError(`chunk ${n} of batch ${id} is unreadable: ${(err as Error).message}`);
    }
    const size = chunk.to.length;
    if (size !== chunkLength(c.valid, n)) {
      throw new UnrecoverableError(`chunk ${n} of batch ${id} holds ${size} recipients, not what the batch counts`);
    }

    const claim = await this.batches.chunks.claim(id, n, size, now);
    if (!claim.claimed) {
      if (claim.reason === 'done' || claim.reason === 'missing') return claim.reason;
      return this.later(job, token, now + this.opts.pausedRecheckMs);
    }
    const { status, partial } = claim;
    const results = partial ? ChunkResults.decode(partial, size) : new ChunkResults(size);
    const shared = c.content !== undefined ? this.tt.ciphertext(c.content) : undefined;
    const msgData = ciphertexts(this.tt, chunk, shared);
    const missing = msgData.indexOf(undefined);
    if (missing >= 0) throw new UnrecoverableError(`recipient ${missing} of chunk ${n} of batch ${id} has no text`);
    const target: ChunkTarget = {
      from: c.from,
      to: chunk.to,
      msgData: msgData as Buffer[],
      createTime: claim.createTime,
      results,
      dueAt,
      app: c.app,
    };
    const a: Attempt = {
      id,
      n,
      attempt: claim.attempt,
      counted: Uint8Array.from(results.states),
      ageLimit: dueAt + this.opts.maxMessageAgeMs,
      deadline: c.deadline,
    };
    this.statuses.hold(id, status);
    const progress = this.startProgress(target, a);
    try {
      return await this.sendChunk(job, token, target, a, claim.clean, status === 'cancelled', progress);
    } finally {
      await progress();
      this.statuses.release(id);
    }
  }

  private interruption(a: Attempt): Interruption | null {
    if (this.stopping) return 'stopping';
    const s = this.statuses.peek(a.id);
    if (s === 'cancelled' || s === null) return 'cancelled';
    if (s === 'paused') return 'paused';
    if (a.deadline !== undefined && Date.now() > a.deadline) return 'expired';
    return null;
  }

  private fail(t: ChunkTarget, i: number, code: FailureCode): void {
    t.results.failed(i, code);
    this.stats.failed(code);
  }

  private async sendChunk(
    job: ChunkJob,
    token: string | undefined,
    t: ChunkTarget,
    a: Attempt,
    clean: boolean,
    cancelledAtClaim: boolean,
    stopProgress: () => Promise<void>,
  ): Promise<string> {
    const pending = unsettled(t.results.states);
    // Recipients a previous attempt may have sent are read back (and settled) before anything is sent again.
    let fresh: number[] = clean ? pending : [];
    const doubt = new ChunkDoubt(this.tt, this.sender, this.opts.settleMs, this.health);
    if (!clean) doubt.recover(pending);
    let backoff = BACKOFF_START_MS;
    let unrouted = 0;
    const stop = () => this.interruption(a) !== null;

    for (;;) {
      if (!doubt.empty) fresh = fresh.concat(await doubt.step(t));
      const why = cancelledAtClaim ? 'cancelled' : this.interruption(a);
      if (why === 'cancelled') {
        for (const i of fresh) t.results.cancelled(i);
        fresh = [];
      } else if (why === 'expired') {
        for (const i of fresh) this.fail(t, i, 'expired');
        fresh = [];
      } else if (why === 'paused' || why === 'stopping') {
        // What is still in doubt makes the record unclean: the next attempt reads those back first.
        await stopProgress();
        await this.savePartial(t, a, doubt.empty);
        return this.later(job, token, Date.now() + (why === 'paused' ? this.opts.pausedRecheckMs : 0));
      }
      if (Date.now() > a.ageLimit) {
        for (const i of fresh) this.fail(t, i, 'teamtalk_unavailable');
        for (const i of doubt.all()) this.fail(t, i, doubt.alive ? 'teamtalk_no_reply' : 'teamtalk_unavailable');
        fresh = [];
        doubt.clear();
      }

      let pause = 0;
      if (fresh.length > 0) {
        const round = await this.sender.send(t, fresh, stop);
        unrouted += round.unrouted;
        fresh = round.unissued.concat(round.notSent);
        for (const [i, code] of await doubt.add(t, round)) this.fail(t, i, code);
        if (round.unissued.length > 0) pause = 0;
        else if (round.notSent.length > 0) pause = backoff;
        if (round.notSent.length > 0) backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
        else backoff = BACKOFF_START_MS;
      } else if (!doubt.empty) {
        // Waiting for db_proxy to settle, or the read-back itself failed (TeamTalk unreachable).
        pause = Math.max(Math.min(backoff, 1000), Math.min(doubt.waitMs(), 500));
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
      }
      if (fresh.length === 0 && doubt.empty) break;
      if (pause > 0) await sleep(pause);
    }

    if (unrouted > 0) {
      this.stats.routeUnavailable += unrouted;
      this.log.warn(
        { batch: a.id, chunk: a.n, unrouted },
        'stored, but no route_server to push them: recipients get them on their next sync',
      );
    }
    await stopProgress();
    return this.finish(t, a);
  }

  private async finish(t: ChunkTarget, a: Attempt): Promise<string> {
    const { sent, failed, cancelled, uncounted } = uncountedOutcomes(t.results.states, a.counted);
    const r = await this.batches.chunks.finish(a.id, a.n, {
      attempt: a.attempt,
      results: t.results.encode(),
      sent,
      failed,
      cancelled,
      settled: uncounted,
    });
    if (r === 'lost') {
      this.log.warn({ batch: a.id, chunk: a.n }, 'another attempt took this chunk over: its outcome stands');
      return 'lost';
    }
    if (r === 'finished') {
      this.log.info({ batch: a.id }, 'batch finished');
      await this.events?.batchCompleted(a.id).catch((err: unknown) => {
        this.log.warn({ batch: a.id, err }, 'batch.completed not emitted');
      });
    }
    this.log.debug({ batch: a.id, chunk: a.n, sent, failed, cancelled }, 'chunk done');
    return r === 'duplicate' ? 'duplicate' : 'done';
  }

  /**
   * Publishes the chunk's progress every progressMs until the returned function is called; that function
   * waits for a write in flight, so the final or partial write that follows sees what it counted.
   */
  private startProgress(t: ChunkTarget, a: Attempt): () => Promise<void> {
    let writing: Promise<void> | undefined;
    const timer = setInterval(() => {
      if (writing !== undefined) return;
      writing = this.publishProgress(t, a)
        .catch((err: unknown) => this.log.debug({ batch: a.id, chunk: a.n, err }, 'progress not saved'))
        .finally(() => (writing = undefined));
    }, this.opts.progressMs);
    timer.unref();
    return async () => {
      clearInterval(timer);
      await writing;
    };
  }

  /**
   * Counts the recipients sent or failed since the last write, and records them with the partial results (only
   * outcomes it counts: a recipient marked cancelled is counted by the final write). One Redis call; none
   * when nothing new is settled.
   */
  private async publishProgress(t: ChunkTarget, a: Attempt): Promise<void> {
    const states = t.results.states;
    const snapshot = Uint8Array.from(a.counted);
    let sent = 0;
    let failed = 0;
    for (let i = 0; i < states.length; i++) {
      if (snapshot[i] !== RESULT_NONE) continue;
      if (states[i] === RESULT_SENT) sent++;
      else if (states[i] === RESULT_FAILED) failed++;
      else continue;
      snapshot[i] = states[i]!;
    }
    if (sent + failed === 0) return;
    const recorded = new ChunkResults(t.results.size);
    for (let i = 0; i < snapshot.length; i++) {
      if (snapshot[i] === RESULT_SENT) recorded.sent(i, t.results.values[i] as number);
      else if (snapshot[i] === RESULT_FAILED) recorded.failed(i, t.results.values[i] as string);
      else if (snapshot[i] === RESULT_CANCELLED) recorded.cancelled(i);
    }
    const r = await this.batches.chunks.writePartial(a.id, a.n, {
      attempt: a.attempt,
      results: recorded.encode(true),
      clean: false,
      sent,
      failed,
    });
    if (r === 'recorded') a.counted.set(snapshot);
  }

  private async savePartial(t: ChunkTarget, a: Attempt, clean: boolean): Promise<void> {
    let sent = 0;
    let failed = 0;
    const states = t.results.states;
    for (let i = 0; i < states.length; i++) {
      if (a.counted[i] !== RESULT_NONE) continue;
      if (states[i] === RESULT_SENT) sent++;
      else if (states[i] === RESULT_FAILED) failed++;
    }
    const r = await this.batches.chunks.writePartial(a.id, a.n, {
      attempt: a.attempt,
      results: t.results.encode(true),
      clean,
      sent,
      failed,
    });
    if (r === 'recorded') a.counted.set(states);
    this.log.debug({ batch: a.id, chunk: a.n, sent, failed, clean }, 'chunk interrupted');
  }
}

// The loops over a chunk's recipients live in small functions of their own: they are what gets hot and compiled,
// not the long async functions around them (run once per chunk, compiled whole if a loop of theirs got hot).

/** Each recipient's ciphertext (its own text's, else the batch's); undefined for one that has neither. */
function ciphertexts(tt: TeamTalk, chunk: DecodedChunk, shared: Buffer | undefined): (Buffer | undefined)[] {
  const size = chunk.to.length;
  const out = new Array<Buffer | undefined>(size);
  for (let i = 0; i < size; i++) {
    const own = chunk.texts[i];
    out[i] = own !== undefined ? tt.ciphertext(own) : shared;
  }
  return out;
}

/** The recipients without an outcome yet. */
function unsettled(states: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < states.length; i++) if (states[i] === RESULT_NONE) out.push(i);
  return out;
}

/** Outcomes of the recipients no earlier write counted. */
function uncountedOutcomes(
  states: Uint8Array,
  counted: Uint8Array,
): { sent: number; failed: number; cancelled: number; uncounted: number } {
  let sent = 0;
  let failed = 0;
  let cancelled = 0;
  let uncounted = 0;
  for (let i = 0; i < states.length; i++) {
    if (counted[i] !== RESULT_NONE) continue;
    uncounted++;
    if (states[i] === RESULT_SENT) sent++;
    else if (states[i] === RESULT_FAILED) failed++;
    else if (states[i] === RESULT_CANCELLED) cancelled++;
  }
  return { sent, failed, cancelled, uncounted };
}
