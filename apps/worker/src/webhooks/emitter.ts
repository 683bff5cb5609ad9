/**
 * Turns terminal states into webhook deliveries. Called on the send path, so it does nothing (a Map lookup) for
 * an app without subscribed endpoints and a message without callback_url; otherwise it builds the event body and
 * queues the deliveries, written to Redis once per tick with one pipeline. A write that fails is retried while
 * the process lives.
 */
import type { Logger } from 'pino';
import {
  BatchKeys,
  eventIdOf,
  newDeliveryId,
  toBatchView,
  toView,
  type AnyWebhookEvent,
  type DeliveryQueue,
  type EndpointView,
  type FailureCode,
  type MessageRecord,
  type NewDelivery,
} from '@ttpush/core';
import type { Redis } from 'ioredis';
import type { SubscriptionCache } from './subscription-cache.ts';

export type MessageOutcome =
  { status: 'sent'; at: number; msgId: number } | { status: 'failed'; at: number; code: FailureCode; message: string };

const MAX_HELD = 100_000;

export class WebhookEmitter {
  private pending: NewDelivery[] = [];
  private flushing: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly queue: DeliveryQueue,
    private readonly subs: SubscriptionCache,
    private readonly redis: Redis,
    private readonly batchKeys: BatchKeys,
    private readonly log: Logger,
  ) {}

  message(rec: MessageRecord, o: MessageOutcome): void {
    const type = o.status === 'sent' ? 'message.sent' : 'message.failed';
    const endpoints = this.subs.endpoints(rec.app, type);
    if (endpoints.length === 0 && !rec.callbackUrl) return;
    const view = toView({
      ...rec,
      status: o.status,
      updatedAt: o.at,
      ...(o.status === 'sent' ? { msgId: o.msgId, sentAt: o.at } : { errorCode: o.code, errorMessage: o.message }),
    });
    this.add(rec.app, type, rec.id, o.at, view, endpoints, rec.callbackUrl);
  }

  /** A batch finished: reads it once (its app and callback_url) and emits batch.completed. */
  async batchCompleted(id: string): Promise<void> {
    const h = await this.redis.hgetall(this.batchKeys.batch(id));
    const app = h.app ?? '';
    const endpoints = this.subs.endpoints(app, 'batch.completed');
    if (endpoints.length === 0 && !h.cb) return;
    const view = toBatchView(id, h);
    if (!view) return;
    this.add(app, 'batch.completed', id, Date.now(), view, endpoints, h.cb || null);
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
  ): void {
    if (this.pending.length >= MAX_HELD) {
      this.log.error({ app, type, subject }, 'webhook event dropped: Redis has not taken events for a while');
      return;
    }
    const eventId = eventIdOf(type, subject);
    const body = JSON.stringify({ type, timestamp: new Date(at).toISOString(), data });
    for (const ep of endpoints) {
      this.pending.push({ id: newDeliveryId(), app, endpoint: ep, url: '', eventId, type, body });
    }
    if (callbackUrl)
      this.pending.push({ id: newDeliveryId(), app, endpoint: null, url: callbackUrl, eventId, type, body });
    if (!this.flushing) this.flushing = new Promise<void>((r) => setImmediate(r)).then(() => this.flush());
  }

  private async flush(): Promise<void> {
    const list = this.pending;
    this.pending = [];
    try {
      await this.queue.enqueue(list);
      this.flushing = undefined;
    } catch (err) {
      this.pending = list.concat(this.pending);
      this.log.warn({ err: (err as Error).message, events: list.length }, 'webhook events not queued yet; retrying');
      this.flushing = new Promise<void>((r) => (this.retryTimer = setTimeout(r, 1000))).then(() => this.flush());
      return;
    }
    if (this.pending.length > 0) this.flushing = new Promise<void>((r) => setImmediate(r)).then(() => this.flush());
  }

  /** Writes what is held (waiting at most `deadlineMs` for Redis). */
  async close(deadlineMs = 3000): Promise<void> {
    const end = Date.now() + deadlineMs;
    while (this.flushing && Date.now() < end) {
      await Promise.race([this.flushing, new Promise((r) => setTimeout(r, 100))]);
    }
    clearTimeout(this.retryTimer);
    if (this.pending.length > 0) this.log.error({ events: this.pending.length }, 'webhook events lost at shutdown');
  }
}
