/**
 * The API side of webhooks in Redis: an app's endpoints, its callback secret, and its deliveries (listing,
 * redelivery). Every method is scoped to one app: another app's endpoint or delivery is "not found".
 */
import type { Redis } from 'ioredis';
import { execPipeline, guard } from '../redis-errors.ts';
import { MAX_ENDPOINTS_PER_APP, WebhookKeys } from '@ttpush/contract';
import { parseEndpoint, toEndpointView, type EndpointRecord } from './endpoint-record.ts';
import { parseDelivery, toDeliveryDetail, toDeliveryView } from './delivery-record.ts';
import { newWebhookSecret } from './signing.ts';
import {
  newEndpointId,
  type DeliveryDetail,
  type DeliveryStatus,
  type DeliveryView,
  type EndpointView,
  type WebhookEvent,
} from '@ttpush/contract';

export interface EndpointInput {
  url: string;
  events: WebhookEvent[];
  description?: string | undefined;
}

export interface EndpointPatch {
  url?: string | undefined;
  events?: WebhookEvent[] | undefined;
  enabled?: boolean | undefined;
  description?: string | null | undefined;
}

export class EndpointLimitError extends Error {
  override readonly name = 'EndpointLimitError';
}

export interface DeliveryPage {
  deliveries: DeliveryView[];
  next_cursor: string | null;
}

/** Subscriptions as workers cache them: per app, its enabled endpoints and their events. */
export type Subscriptions = Map<string, { id: string; events: WebhookEvent[] }[]>;

/** Scanned entries per page when a status filter skips some. */
const SCAN_WINDOW = 1000;

export class WebhookStore {
  readonly keys: WebhookKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new WebhookKeys(prefix);
  }

  private async record(app: string, id: string): Promise<EndpointRecord | null> {
    const r = parseEndpoint(id, await guard(this.redis.hgetall(this.keys.endpoint(id))));
    return r && r.app === app ? r : null;
  }

  /** Rewrites the app's entry of the subscriptions hash and tells workers. */
  async refreshSubscriptions(app: string): Promise<void> {
    const k = this.keys;
    const ids = await guard(this.redis.zrange(k.appEndpoints(app), 0, -1));
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hgetall(k.endpoint(id));
    // A failed read rejects (execPipeline) rather than reading as a missing endpoint, which would unsubscribe it.
    const rows = (await guard(execPipeline(pipe))).map((h, i) =>
      parseEndpoint(ids[i]!, (h ?? {}) as Record<string, string>),
    );
    const subs = rows.filter((r) => r?.enabled).map((r) => ({ id: r!.id, events: r!.events }));
    const m = this.redis.multi();
    if (subs.length > 0) m.hset(k.subscriptions, app, JSON.stringify(subs));
    else m.hdel(k.subscriptions, app);
    m.publish(k.changedChannel, app);
    await guard(m.exec());
  }

  async create(app: string, input: EndpointInput): Promise<{ view: EndpointView; secret: string }> {
    const k = this.keys;
    if ((await guard(this.redis.zcard(k.appEndpoints(app)))) >= MAX_ENDPOINTS_PER_APP) {
      throw new EndpointLimitError(`an app has at most ${MAX_ENDPOINTS_PER_APP} endpoints`);
    }
    const id = newEndpointId();
    const now = Date.now();
    const secret = newWebhookSecret();
    await guard(
      this.redis
        .multi()
        .hset(k.endpoint(id), {
          app,
          url: input.url,
          events: input.events.join(','),
          desc: input.description ?? '',
          on: '1',
          secret,
          ca: now,
          ua: now,
        }) // prettier-ignore
        .zadd(k.appEndpoints(app), now, id)
        .exec(),
    );
    await this.refreshSubscriptions(app);
    return { view: toEndpointView((await this.record(app, id))!), secret };
  }

  async list(app: string): Promise<EndpointView[]> {
    const ids = await guard(this.redis.zrange(this.keys.appEndpoints(app), 0, -1));
    const out: EndpointView[] = [];
    for (const id of ids) {
      const r = await this.record(app, id);
      if (r) out.push(toEndpointView(r));
    }
    return out;
  }

  async get(app: string, id: string): Promise<EndpointView | null> {
    const r = await this.record(app, id);
    return r && toEndpointView(r);
  }

  async update(app: string, id: string, patch: EndpointPatch): Promise<EndpointView | null> {
    const r = await this.record(app, id);
    if (!r) return null;
    const fields: Record<string, string | number> = { ua: Date.now() };
    if (patch.url !== undefined) fields.url = patch.url;
    if (patch.events !== undefined) fields.events = patch.events.join(',');
    if (patch.description !== undefined) fields.desc = patch.description ?? '';
    const m = this.redis.multi();
    if (patch.enabled === true) {
      // Re-enabled by its app: failures start counting afresh.
      fields.on = '1';
      m.hdel(this.keys.endpoint(id), 'dr', 'da', 'fs');
    } else if (patch.enabled === false && r.enabled) {
      Object.assign(fields, { on: '0', dr: 'disabled by the app', da: Date.now() });
    }
    m.hset(this.keys.endpoint(id), fields);
    await guard(m.exec());
    await this.refreshSubscriptions(app);
    return this.get(app, id);
  }

  /** Deletes the endpoint; its pending deliveries end as dead when a worker reaches them. */
  async remove(app: string, id: string): Promise<boolean> {
    if (!(await this.record(app, id))) return false;
    const k = this.keys;
    // Its deliveries stay listed under the app until they expire.
    await guard(
      this.redis.multi().del(k.endpoint(id)).del(k.endpointDeliveries(id)).zrem(k.appEndpoints(app), id).exec(),
    );
    await this.refreshSubscriptions(app);
    return true;
  }

  async rotate(app: string, id: string, graceMs: number): Promise<{ view: EndpointView; secret: string } | null> {
    const r = await this.record(app, id);
    if (!r) return null;
    const secret = newWebhookSecret();
    const now = Date.now();
    await guard(this.redis.hset(this.keys.endpoint(id), { secret, old: r.secret, old_until: now + graceMs, ua: now }));
    return { view: toEndpointView((await this.record(app, id))!), secret };
  }

  /**
   * The app's callback secret: created and returned (`secret`) on the first call only; later calls tell when it
   * was created. `rotate` makes a new one (returned), the old one signing too for `graceMs`.
   */
  async callbackSecret(
    app: string,
    rotateGraceMs?: number,
  ): Promise<{ created: boolean; secret?: string; created_at: string; previous_secret_expires_at: string | null }> {
    const key = this.keys.callbackSecret(app);
    const now = Date.now();
    const secret = newWebhookSecret();
    const created = (await guard(this.redis.hsetnx(key, 'secret', secret))) === 1;
    if (created) await guard(this.redis.hset(key, 'ca', now));
    if (!created && rotateGraceMs !== undefined) {
      const old = await guard(this.redis.hget(key, 'secret'));
      await guard(this.redis.hset(key, { secret, old: old ?? '', old_until: now + rotateGraceMs, ua: now }));
    }
    const h = await guard(this.redis.hgetall(key));
    const until = Number(h.old_until ?? 0);
    return {
      created,
      ...((created || rotateGraceMs !== undefined) && { secret }),
      created_at: new Date(Number(h.ca ?? now)).toISOString(),
      previous_secret_expires_at: h.old && until > now ? new Date(until).toISOString() : null,
    };
  }

  async hasCallbackSecret(app: string): Promise<boolean> {
    return (await guard(this.redis.hexists(this.keys.callbackSecret(app), 'secret'))) === 1;
  }

  /** Newest first; `cursor` is the offset the previous page returned. */
  async deliveries(
    app: string,
    opts: { endpoint?: string | undefined; status?: DeliveryStatus | undefined; cursor: number; limit: number },
  ): Promise<DeliveryPage> {
    const k = this.keys;
    const index = opts.endpoint ? k.endpointDeliveries(opts.endpoint) : k.appDeliveries(app);
    const window = opts.status ? SCAN_WINDOW : opts.limit;
    const ids = await guard(this.redis.zrevrange(index, opts.cursor, opts.cursor + window - 1));
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hgetall(k.delivery(id));
    // A failed read rejects rather than reading as a delivery gone, which would take it off the index below.
    const rows = await guard(execPipeline(pipe));
    const out: DeliveryView[] = [];
    let consumed = 0;
    const gone: string[] = [];
    for (let i = 0; i < ids.length && out.length < opts.limit; i++) {
      consumed = i + 1;
      const r = parseDelivery(ids[i]!, (rows[i] ?? {}) as Record<string, string>);
      if (!r) {
        gone.push(ids[i]!);
        continue;
      }
      if (r.app !== app || (opts.status && r.status !== opts.status)) continue;
      out.push(toDeliveryView(r));
    }
    if (gone.length > 0) await guard(this.redis.zrem(index, ...gone));
    const more = ids.length === window || consumed < ids.length;
    return { deliveries: out, next_cursor: more ? String(opts.cursor + consumed - gone.length) : null };
  }

  async delivery(app: string, id: string): Promise<DeliveryDetail | null> {
    const k = this.keys;
    const [h, attempts] = await guard(
      Promise.all([this.redis.hgetall(k.delivery(id)), this.redis.lrange(k.attempts(id), 0, -1)]),
    );
    const r = parseDelivery(id, h);
    return r && r.app === app ? toDeliveryDetail(r, attempts) : null;
  }

  /** Makes a delivery due now with a fresh retry schedule; same event id. Null when it is not the app's. */
  async redeliver(app: string, id: string): Promise<DeliveryDetail | null> {
    const k = this.keys;
    const r = parseDelivery(id, await guard(this.redis.hgetall(k.delivery(id))));
    if (!r || r.app !== app) return null;
    if (r.status !== 'pending' || r.tries > 0) {
      const now = Date.now();
      await guard(
        this.redis
          .multi()
          .hset(k.delivery(id), { s: 'pending', tries: 0, next: now, ua: now })
          .persist(k.delivery(id))
          .persist(k.attempts(id))
          .zadd(k.due(r.sem), now, id)
          .zadd(k.ready, 'LT', now, r.sem)
          .exec(),
      );
    }
    return this.delivery(app, id);
  }

  /** Redelivers every dead delivery of an endpoint still listed; how many. Null when the endpoint is not the app's. */
  async redeliverFailed(app: string, endpoint: string): Promise<number | null> {
    if (!(await this.record(app, endpoint))) return null;
    const k = this.keys;
    const ids = await guard(this.redis.zrange(k.endpointDeliveries(endpoint), 0, -1));
    let n = 0;
    for (let i = 0; i < ids.length; i += 500) {
      const slice = ids.slice(i, i + 500);
      const pipe = this.redis.pipeline();
      for (const id of slice) pipe.hget(k.delivery(id), 's');
      const statuses = await guard(execPipeline(pipe));
      const now = Date.now();
      const m = this.redis.multi();
      slice.forEach((id, j) => {
        if (statuses[j] !== 'dead') return;
        n++;
        m.hset(k.delivery(id), { s: 'pending', tries: 0, next: now, ua: now });
        m.persist(k.delivery(id)).persist(k.attempts(id)).zadd(k.due(endpoint), now, id);
      });
      m.zadd(k.ready, 'LT', now, endpoint);
      await guard(m.exec());
    }
    return n;
  }

  /**
   * Calls `onChange` with the app whenever an api announces that the app's endpoints changed. `subscriber` is a
   * connection of its own (a subscribed connection serves nothing else); rejects when the subscription fails.
   */
  async watchChanges(subscriber: Redis, onChange: (app: string) => void): Promise<void> {
    const channel = this.keys.changedChannel;
    subscriber.on('message', (from: string, app: string) => {
      if (from === channel) onChange(app);
    });
    await subscriber.subscribe(channel);
  }

  /** Everything workers cache: app → enabled endpoints and their events. */
  async subscriptions(): Promise<Subscriptions> {
    const h = await this.redis.hgetall(this.keys.subscriptions);
    return new Map(
      Object.entries(h).map(([app, json]) => [app, JSON.parse(json) as { id: string; events: WebhookEvent[] }[]]),
    );
  }
}
