/**
 * The webhook delivery loop of a worker: its own timer, its own concurrency (TTPUSH_WEBHOOK_WORKER_CONCURRENCY),
 * nothing shared with the send path, so a slow or dead receiver only ever holds webhook slots. Deliveries are
 * claimed from Redis under each endpoint's cap (TTPUSH_WEBHOOK_ENDPOINT_CONCURRENCY, over all workers) with a lease
 * a little longer than the attempt timeout: a worker that dies mid-attempt leaves the delivery due again.
 */
import type { Logger } from 'pino';
import { UrlRefusedError, type UrlPolicy } from '@ttpush/config';
import {
  signatureHeaders,
  signingSecrets,
  type DeliveryQueue,
  type DeliveryRecord,
  type WebhookStore,
} from '@ttpush/store';
import type { WorkerStats } from '../stats.ts';
import type { WebhookEmitter } from './emitter.ts';
import { postSigned, type PostResult } from './http-post.ts';
import { nextAttemptAt } from './retry-schedule.ts';

export interface DelivererOptions {
  timeoutMs: number;
  retryScheduleMs: number[];
  disableAfterMs: number;
  endpointConcurrency: number;
  workerConcurrency: number;
  pollMs?: number;
}

export class WebhookDeliverer {
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private again = false;
  private stopped = false;
  private readonly abort = new AbortController();
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly queue: DeliveryQueue,
    private readonly store: WebhookStore,
    private readonly policy: UrlPolicy,
    private readonly emitter: WebhookEmitter,
    private readonly stats: WorkerStats,
    private readonly log: Logger,
    private readonly opts: DelivererOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.poll(), this.opts.pollMs ?? 200);
  }

  /** Claims what there is room for; runs on the timer, and again as soon as an attempt ends. */
  private async poll(): Promise<void> {
    if (this.stopped) return;
    if (this.polling) {
      this.again = true;
      return;
    }
    this.polling = true;
    try {
      do {
        this.again = false;
        const room = this.opts.workerConcurrency - this.inFlight;
        if (room <= 0) break;
        const ids = await this.queue.claim(room, this.opts.timeoutMs + 10_000, this.opts.endpointConcurrency);
        for (const id of ids) this.run(id);
        // A full claim may have left more due.
        if (ids.length === room) this.again = true;
      } while (this.again && !this.stopped);
    } catch (err) {
      this.log.debug({ err }, 'webhook claim failed');
    } finally {
      this.polling = false;
    }
  }

  private run(id: string): void {
    this.inFlight++;
    const p = this.deliver(id)
      .catch((err: Error) => this.log.warn({ delivery: id, err }, 'webhook attempt not recorded'))
      .finally(() => {
        this.inFlight--;
        this.running.delete(p);
        void this.poll();
      });
    this.running.add(p);
  }

  private async deliver(id: string): Promise<void> {
    const { delivery: d, endpoint } = await this.queue.load(id);
    if (!d) return;
    // Delivered or dead meanwhile (a lease that ran out while the first attempt finished): nothing to send.
    if (d.status !== 'pending') return this.queue.release(d);
    let secrets: string[];
    let url: string;
    if (d.endpoint) {
      if (!endpoint) return this.queue.abandon(d, 'endpoint_deleted');
      if (!endpoint.enabled) return this.queue.abandon(d, 'endpoint_disabled');
      secrets = signingSecrets(endpoint);
      url = endpoint.url;
    } else {
      const cb = await this.queue.callbackSecrets(d.app);
      if (!cb) return this.queue.abandon(d, 'no_callback_secret');
      secrets = signingSecrets(cb);
      url = d.url;
    }
    const at = Date.now();
    let result: PostResult;
    try {
      const target = await this.policy.resolve(url);
      const headers = signatureHeaders(secrets, d.eventId, Math.floor(at / 1000), d.body);
      result = await postSigned(target, headers, d.body, this.opts.timeoutMs, this.abort.signal);
    } catch (err) {
      const code = err instanceof UrlRefusedError ? err.code : 'request_failed';
      result = { ok: false, status: null, error: code, durationMs: Date.now() - at };
    }
    if (this.stopped && result.error === 'shutdown') {
      // Not an attempt: the lease runs out and a live worker takes it.
      return;
    }
    const next = result.ok ? null : nextAttemptAt(this.opts.retryScheduleMs, d.tries + 1);
    await this.queue.finish(d, {
      ok: result.ok,
      next,
      attempt: {
        at: new Date(at).toISOString(),
        status: result.status,
        error: result.error,
        duration_ms: result.durationMs,
      },
    });
    this.stats.webhook(result.ok ? 'delivered' : next === null ? 'dead' : 'retried');
    if (!result.ok) this.log.debug({ delivery: id, url: redact(url), error: result.error }, 'webhook attempt failed');
    if (d.endpoint) await this.track(d, result.ok);
  }

  private async track(d: DeliveryRecord, ok: boolean): Promise<void> {
    const disabled = await this.queue.endpointOutcome(d.endpoint!, ok, this.opts.disableAfterMs);
    if (!disabled) return;
    this.stats.webhook('endpoint_disabled');
    const view = await this.store.get(d.app, d.endpoint!);
    this.log.warn({ app: d.app, endpoint: d.endpoint }, 'webhook endpoint disabled: its deliveries kept failing');
    await this.store.refreshSubscriptions(d.app);
    if (view) this.emitter.endpointDisabled(d.app, view);
  }

  /** Stops claiming; attempts in flight end within `deadlineMs` (then are aborted: their leases run out). */
  async stop(deadlineMs = 5000): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((r) => (timer = setTimeout(r, deadlineMs)));
    await Promise.race([Promise.allSettled([...this.running]), deadline]);
    this.abort.abort();
    await Promise.allSettled([...this.running]);
    clearTimeout(timer);
  }
}

/** A URL for a log line: no query string (it may carry a token). */
function redact(url: string): string {
  return url.replace(/[?#].*$/, '');
}
