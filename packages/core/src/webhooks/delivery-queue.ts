/**
 * The worker side of webhook deliveries in Redis: enqueue (pipelined), claim due deliveries under each endpoint's
 * concurrency cap (a lease, so a dead worker's claims come due again: at least once), and record attempts.
 */
import type { Redis } from 'ioredis';
import { ATTEMPTS_KEPT, DELIVERY_TTL_MS, WebhookKeys } from './keys.ts';
import { newDeliveryFields, parseDelivery, type DeliveryRecord } from './delivery-record.ts';
import { parseEndpoint, type EndpointRecord } from './endpoint-record.ts';
import type { AttemptView } from './types.ts';

/**
 * KEYS: due. ARGV: now, max, lease ms, cap, key base, recheck ms. Takes up to `max` due deliveries whose endpoint has
 * fewer than `cap` attempts in flight: each gets a semaphore entry and a due time at its lease end. A delivery whose
 * endpoint is full is looked at again after `recheck` ms. Keys are built from the base, all in one hash tag.
 */
const CLAIM = `
local now = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local lease = tonumber(ARGV[3])
local cap = tonumber(ARGV[4])
local base = ARGV[5]
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, max * 4)
local out = {}
local full = {}
for _, id in ipairs(ids) do
  if #out >= max then break end
  local sem = redis.call('HGET', base .. ':d:' .. id, 'sem')
  if not sem then
    redis.call('ZREM', KEYS[1], id)
  elseif full[sem] then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[6]), id)
  else
    local skey = base .. ':sem:' .. sem
    redis.call('ZREMRANGEBYSCORE', skey, '-inf', now)
    if redis.call('ZCARD', skey) < cap then
      redis.call('ZADD', skey, now + lease, id)
      redis.call('PEXPIRE', skey, lease * 2)
      redis.call('ZADD', KEYS[1], now + lease, id)
      out[#out + 1] = id
    else
      full[sem] = true
      redis.call('ZADD', KEYS[1], now + tonumber(ARGV[6]), id)
    end
  end
end
return out
`;

export interface NewDelivery {
  id: string;
  app: string;
  endpoint: string | null;
  url: string;
  eventId: string;
  type: DeliveryRecord['type'];
  body: string;
}

export interface AttemptOutcome {
  ok: boolean;
  attempt: AttemptView;
  /** When to try again (ms); null: no more tries (delivered, or dead). */
  next: number | null;
}

type ClaimRedis = Redis & { ttWebhookClaim(...args: (string | number)[]): Promise<string[]> };

export class DeliveryQueue {
  readonly keys: WebhookKeys;
  private readonly redis: ClaimRedis;

  constructor(redis: Redis, prefix: string) {
    this.keys = new WebhookKeys(prefix);
    if (!('ttWebhookClaim' in redis)) redis.defineCommand('ttWebhookClaim', { numberOfKeys: 1, lua: CLAIM });
    this.redis = redis as ClaimRedis;
  }

  /** Writes new deliveries, due now, in one round trip. */
  async enqueue(list: readonly NewDelivery[], now = Date.now()): Promise<void> {
    if (list.length === 0) return;
    const k = this.keys;
    const pipe = this.redis.pipeline();
    for (const d of list) {
      pipe.hset(k.delivery(d.id), ...newDeliveryFields({ ...d, now }));
      pipe.zadd(k.due, now, d.id);
      pipe.zadd(k.appDeliveries(d.app), now, d.id);
      if (d.endpoint) pipe.zadd(k.endpointDeliveries(d.endpoint), now, d.id);
    }
    const results = (await pipe.exec()) ?? [];
    const failed = results.find(([err]) => err);
    if (failed) throw failed[0];
  }

  claim(max: number, leaseMs: number, cap: number, recheckMs = 500, now = Date.now()): Promise<string[]> {
    return this.redis.ttWebhookClaim(this.keys.due, now, max, leaseMs, cap, this.keys.base, recheckMs);
  }

  async load(id: string): Promise<{ delivery: DeliveryRecord | null; endpoint: EndpointRecord | null }> {
    const h = await this.redis.hgetall(this.keys.delivery(id));
    const delivery = parseDelivery(id, h);
    if (!delivery?.endpoint) return { delivery, endpoint: null };
    const endpoint = parseEndpoint(delivery.endpoint, await this.redis.hgetall(this.keys.endpoint(delivery.endpoint)));
    return { delivery, endpoint };
  }

  async callbackSecrets(
    app: string,
  ): Promise<{ secret: string; oldSecret: string | null; oldUntil: number | null } | null> {
    const h = await this.redis.hgetall(this.keys.callbackSecret(app));
    if (!h.secret) return null;
    return { secret: h.secret, oldSecret: h.old || null, oldUntil: h.old_until ? Number(h.old_until) : null };
  }

  /** Records an attempt, releases the endpoint's slot, and schedules the next try or ends the delivery. */
  async finish(d: DeliveryRecord, o: AttemptOutcome, now = Date.now()): Promise<void> {
    const k = this.keys;
    const status = o.ok ? 'delivered' : o.next === null ? 'dead' : 'pending';
    const m = this.redis.multi();
    m.hset(k.delivery(d.id), {
      s: status,
      a: d.attempts + 1,
      tries: d.tries + 1,
      next: o.next ?? '',
      ua: now,
      ls: o.attempt.status ?? '',
      le: o.attempt.error ?? '',
    });
    m.rpush(k.attempts(d.id), JSON.stringify(o.attempt));
    m.ltrim(k.attempts(d.id), -ATTEMPTS_KEPT, -1);
    m.zrem(k.semaphore(d.sem), d.id);
    if (o.next === null) {
      m.zrem(k.due, d.id);
      m.pexpire(k.delivery(d.id), DELIVERY_TTL_MS);
      m.pexpire(k.attempts(d.id), DELIVERY_TTL_MS);
    } else {
      m.zadd(k.due, o.next, d.id);
    }
    // Listing indexes forget what expired long ago.
    m.zremrangebyscore(k.appDeliveries(d.app), '-inf', now - DELIVERY_TTL_MS);
    await m.exec();
  }

  /** Drops a claim on a delivery that needs no attempt, leaving its record as it is. */
  async release(d: DeliveryRecord): Promise<void> {
    await this.redis.multi().zrem(this.keys.due, d.id).zrem(this.keys.semaphore(d.sem), d.id).exec();
  }

  /** Ends a delivery that can no longer be attempted (its endpoint was deleted or disabled). */
  async abandon(d: DeliveryRecord, reason: string, now = Date.now()): Promise<void> {
    const k = this.keys;
    await this.redis
      .multi()
      .hset(k.delivery(d.id), { s: 'dead', next: '', ua: now, le: reason })
      .zrem(k.due, d.id)
      .zrem(k.semaphore(d.sem), d.id)
      .pexpire(k.delivery(d.id), DELIVERY_TTL_MS)
      .exec();
  }

  /**
   * Tracks an endpoint's run of failures: cleared by a success, started by the first failure. True when the endpoint
   * has failed for `disableAfterMs` and this call disabled it.
   */
  async endpointOutcome(endpoint: string, ok: boolean, disableAfterMs: number, now = Date.now()): Promise<boolean> {
    const key = this.keys.endpoint(endpoint);
    if (ok) {
      await this.redis.hdel(key, 'fs');
      return false;
    }
    await this.redis.hsetnx(key, 'fs', now);
    const [since, on] = await this.redis.hmget(key, 'fs', 'on');
    if (on !== '1' || since === null || now - Number(since) < disableAfterMs) return false;
    const hours = Math.round(disableAfterMs / 360_000) / 10;
    await this.redis.hset(key, {
      on: '0',
      dr: `every delivery failed for ${hours} h (TTPUSH_WEBHOOK_DISABLE_AFTER): fix the receiver, then PATCH enabled: true`,
      da: now,
      ua: now,
    });
    return true;
  }
}
