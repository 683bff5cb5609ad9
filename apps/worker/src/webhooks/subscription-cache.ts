/**
 * Which apps have enabled webhook endpoints, and for which events: read whole from Redis (one HGETALL) every few
 * seconds and at once when an api publishes a change. The send path asks it synchronously, so a message of an app
 * without endpoints costs one Map lookup.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AnyWebhookEvent } from '@ttpush/contract';
import type { Subscriptions, WebhookStore } from '@ttpush/store';

export class SubscriptionCache {
  private subs: Subscriptions = new Map();
  private timer: NodeJS.Timeout | undefined;
  private loading: Promise<void> | undefined;
  /** False until the first successful read: until then nobody can tell an app has no endpoints. */
  loaded = false;
  private markReady!: () => void;
  /** Resolves at the first successful read. */
  readonly ready = new Promise<void>((r) => (this.markReady = r));

  constructor(
    private readonly store: WebhookStore,
    /** A connection of its own: a subscribed connection serves nothing else. */
    private readonly subscriber: Redis,
    private readonly log: Logger,
    private readonly refreshMs = 5000,
  ) {}

  /** Does not wait for Redis: a worker starts while Redis is down, and the cache fills once it is back. */
  start(): void {
    this.subscriber.on('message', () => void this.refresh());
    this.subscriber.subscribe(this.store.keys.changedChannel).catch((err: Error) => {
      this.log.warn({ err }, 'webhook change notices unavailable; refreshing every few seconds');
    });
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    void this.refresh();
  }

  refresh(): Promise<void> {
    this.loading ??= this.store
      .subscriptions()
      .then((s) => {
        this.subs = s;
        this.loaded = true;
        this.markReady();
      })
      .catch((err: Error) => {
        // Before the first load, sends wait for it (no terminal state may pass without its events): say so loudly.
        if (this.loaded) this.log.debug({ err }, 'webhook subscriptions not refreshed');
        else this.log.warn({ err }, 'webhook subscriptions not loaded yet: sends wait for them');
      })
      .finally(() => (this.loading = undefined));
    return this.loading;
  }

  /** The app's enabled endpoints subscribed to `type` (every enabled endpoint for endpoint.disabled). */
  endpoints(app: string, type: AnyWebhookEvent): string[] {
    const list = this.subs.get(app);
    if (!list) return [];
    const out: string[] = [];
    for (const e of list) if (type === 'endpoint.disabled' || e.events.includes(type)) out.push(e.id);
    return out;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
