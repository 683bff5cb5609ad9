/**
 * Turns terminal states into webhook deliveries. Called on the send path, so it does nothing (a Map lookup) for
 * an app without subscribed endpoints and a message without callback_url; otherwise it builds the event body and
 * queues the deliveries, written to Redis once per tick with one pipeline.
 *
 * A message's events are written before its terminal state (the lane awaits `message()`): a worker that dies in
 * between leaves the message `sending`, the next worker reads it back and emits again under the same event id, so
 * the event is delivered at least once. A failed write rejects `message()`, and the lane fails like a failed
 * completion (its job is retried). Other events (batch.completed, endpoint.disabled) are retried while the
 * process lives.
 */
import type { Logger } from 'pino';
import {
  BATCH_FIELDS,
  eventIdOf,
  newDeliveryId,
  type AnyWebhookEvent,
  type EndpointView,
  type FailureCode,
} from '@ttpush/contract';
import {
  toBatchView,
  toView,
  type BatchStore,
  type DeliveryQueue,
  type MessageRecord,
  type NewDelivery,
} from '@ttpush/store';
import type { SubscriptionCache } from './subscription-cache.ts';

export type MessageOutcome =
  { status: 'sent'; at: number; msgId: number } | { status: 'failed'; at: number; code: FailureCode; message: string };

interface Held {
  deliveries: NewDelivery[];
  /** Set when a caller awaits the write: a failure is theirs to handle, not retried here. */
  done?: { resolve: () => void; reject: (err: Error) => void };
}

const MAX_HELD = 100_000;

export class WebhookEmitter {
  private held: Held[] = [];
  private flushing: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly queue: DeliveryQueue,
    private readonly subs: SubscriptionCache,
    private readonly batches: BatchStore,
    private readonly log: Logger,
  ) {}

  /** Resolves once the message's deliveries are in Redis; undefined when there are none to write. */
  message(rec: MessageRecord, o: MessageOutcome): Promise<void> | undefined {
    // A worker just started: wait for its first look at the subscriptions rather than miss events.
    if (!this.subs.loaded) return this.subs.ready.then(() => this.message(rec, o));
    const type = o.status === 'sent' ? 'message.sent' : 'message.failed';
    const endpoints = this.subs.endpoints(rec.app, type);
    if (endpoints.length === 0 && !rec.callbackUrl) return undefined;
    const view = toView({
      ...rec,
      status: o.status,
      updatedAt: o.at,
      ...(o.status === 'sent' ? { msgId: o.msgId, sentAt: o.at } : { errorCode: o.code, errorMessage: o.message }),
    });
    return new Promise<void>((resolve, reject) => {
      this.add(rec.app, type, rec.id, o.at, view, endpoints, rec.callbackUrl, { resolve, reject });
    });
  }

  /** A batch finished: reads it once (its app and callback_url) and emits batch.completed. */
  async batchCompleted(id: string): Promise<void> {
    if (!this.subs.loaded) await this.subs.ready;
    const h = await this.batches.hash(id);
    const app = h[BATCH_FIELDS.app] ?? '';
    const callbackUrl = h[BATCH_FIELDS.callbackUrl] || null;
    const endpoints = this.subs.endpoints(app, 'batch.completed');
    if (endpoints.length === 0 && !callbackUrl) return;
    const view = toBatchView(id, h);
    if (!view) return;
    this.add(app, 'batch.completed', id, Date.now(), view, endpoints, callbackUrl);
  }

  /** Tells the app's other endpoints that one was disabled. */
  endpointDisabled(app: string, endpoint: EndpointView): void {
    const others = this.subs.endpoints(app, 'endpoint.disabled').filter((e) => e !== endpoint.id);
    const at = Date.parse(endpoint.disabled_at ?? '') || Date.now();
    this.add(app, 'endpoint.disabled', `${endpoint.id}_${at}`, at, endpoint, others, null);
  }

  private add(
    app: string,
    type: AnyWebhookEvent,
    subject: string,
    at: number,
    data: unknown,
    endpoints: readonly string[],
    callbackUrl: string | null,
    done?: Held['done'],
  ): void {
    if (this.held.length >= MAX_HELD) {
      const err = new Error('webhook events are not being written: Redis has not taken any for a while');
      if (done) return done.reject(err);
      this.log.error({ app, type, subject }, 'webhook event dropped: Redis has not taken events for a while');
      return;
    }
    const eventId = eventIdOf(type, subject);
    const body = JSON.stringify({ type, timestamp: new Date(at).toISOString(), data });
    const deliveries: NewDelivery[] = endpoints.map((ep) => ({
      id: newDeliveryId(),
      app,
      endpoint: ep,
      url: '',
      eventId,
      type,
      body,
    }));
    if (callbackUrl)
      deliveries.push({ id: newDeliveryId(), app, endpoint: null, url: callbackUrl, eventId, type, body });
    if (deliveries.length === 0) return done?.resolve();
    this.held.push(done ? { deliveries, done } : { deliveries });
    this.flushing ??= new Promise<void>((r) => setImmediate(r)).then(() => this.flush());
  }

  private async flush(): Promise<void> {
    const batch = this.held;
    this.held = [];
    try {
      await this.queue.enqueue(batch.flatMap((h) => h.deliveries));
      for (const h of batch) h.done?.resolve();
    } catch (err) {
      for (const h of batch) h.done?.reject(err as Error);
      const kept = batch.filter((h) => !h.done);
      this.held = kept.concat(this.held);
      this.log.warn({ err }, 'webhook events not written');
      if (this.held.length > 0) {
        this.flushing = new Promise<void>((r) => (this.retryTimer = setTimeout(r, 1000))).then(() => this.flush());
        return;
      }
    }
    this.flushing =
      this.held.length > 0 ? new Promise<void>((r) => setImmediate(r)).then(() => this.flush()) : undefined;
  }

  /** Writes what is held (waiting at most `deadlineMs` for Redis). */
  async close(deadlineMs = 3000): Promise<void> {
    const end = Date.now() + deadlineMs;
    while (this.flushing && Date.now() < end) {
      await Promise.race([this.flushing, new Promise((r) => setTimeout(r, 100))]);
    }
    clearTimeout(this.retryTimer);
    const lost = this.held.reduce((n, h) => n + h.deliveries.length, 0);
    if (lost > 0) this.log.error({ deliveries: lost }, 'webhook deliveries lost at shutdown');
  }
}
