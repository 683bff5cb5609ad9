/**
 * The worker side of webhook deliveries in Redis: enqueue (pipelined), claim due deliveries under each endpoint's
 * concurrency cap (a lease, so a dead worker's claims come due again: at least once), and record attempts.
 */
import type { Redis } from 'ioredis';
import { ATTEMPTS_KEPT, DELIVERY_TTL_MS, WebhookKeys } from '@ttpush/contract';
import { newDeliveryFields, parseDelivery, type DeliveryRecord } from './delivery-record.ts';
import { parseEndpoint, type EndpointRecord } from './endpoint-record.ts';
import { defineLuaScripts } from '../scripts-loader.ts';
import type { AttemptView } from '@ttpush/contract';

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

/** The concurrency group of a delivery: its endpoint, or all callback URLs of its app. */
export function groupOf(d: { app: string; endpoint: string | null }): string {
  return d.endpoint ?? `cb.${d.app}`;
}

/** What one claim takes: see lua/webhook-claim-1.lua. */
export interface ClaimRequest {
  /** Deliveries claimed at most. */
  max: number;
  /** How long a claim holds before its delivery comes due again (ms). */
  leaseMs: number;
  /** Attempts in flight per concurrency group, at most. */
  cap: number;
  /** When a group at its cap is looked at again (ms); default 500. */
  recheckMs?: number;
  now?: number;
}

interface ClaimCommands {
  ttWebhookClaim(
    ready: string,
    now: number,
    max: number,
    leaseMs: number,
    cap: number,
    base: string,
    recheckMs: number,
  ): Promise<string[]>;
}

export class DeliveryQueue {
  readonly keys: WebhookKeys;
  private readonly redis: Redis & ClaimCommands;

  constructor(redis: Redis, prefix: string) {
    this.keys = new WebhookKeys(prefix);
    this.redis = defineLuaScripts<ClaimCommands>(redis, ['webhook-claim']);
  }

  /** Writes new deliveries, due now, in one round trip. */
  async enqueue(list: readonly NewDelivery[], now = Date.now()): Promise<void> {
    if (list.length === 0) return;
    const k = this.keys;
    const pipe = this.redis.pipeline();
    for (const d of list) {
      const group = groupOf(d);
      pipe.hset(k.delivery(d.id), ...newDeliveryFields({ ...d, sem: group, now }));
      pipe.zadd(k.due(group), now, d.id);
      pipe.zadd(k.ready, 'LT', now, group);
      pipe.zadd(k.appDeliveries(d.app), now, d.id);
      if (d.endpoint) pipe.zadd(k.endpointDeliveries(d.endpoint), now, d.id);
    }
    const results = (await pipe.exec()) ?? [];
    const failed = results.find(([err]) => err);
    if (failed) throw failed[0];
  }

  /**
   * Claims due deliveries under each group's concurrency cap; the ids claimed (none: nothing is due, or every due
   * group is at its cap).
   */
  claim(r: ClaimRequest): Promise<string[]> {
    const k = this.keys;
    return this.redis.ttWebhookClaim(k.ready, r.now ?? Date.now(), r.max, r.leaseMs, r.cap, k.base, r.recheckMs ?? 500);
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
      m.zrem(k.due(d.sem), d.id);
      m.pexpire(k.delivery(d.id), DELIVERY_TTL_MS);
      m.pexpire(k.attempts(d.id), DELIVERY_TTL_MS);
    } else {
      m.zadd(k.due(d.sem), o.next, d.id);
    }
    // A slot is free: the group's next due delivery may go at once.
    m.zadd(k.ready, 'LT', now, d.sem);
    // Listing indexes forget what expired long ago.
    m.zremrangebyscore(k.appDeliveries(d.app), '-inf', now - DELIVERY_TTL_MS);
    if (d.endpoint) m.zremrangebyscore(k.endpointDeliveries(d.endpoint), '-inf', now - DELIVERY_TTL_MS);
    await m.exec();
  }

  /** Drops a claim on a delivery that needs no attempt, leaving its record as it is. */
  async release(d: DeliveryRecord): Promise<void> {
    const k = this.keys;
    await this.redis
      .multi()
      .zrem(k.due(d.sem), d.id)
      .zrem(k.semaphore(d.sem), d.id)
      .zadd(k.ready, 'LT', Date.now(), d.sem)
      .exec();
  }

  /** Ends a delivery that can no longer be attempted (its endpoint was deleted or disabled). */
  async abandon(d: DeliveryRecord, reason: string, now = Date.now()): Promise<void> {
    const k = this.keys;
    await this.redis
      .multi()
      .hset(k.delivery(d.id), { s: 'dead', next: '', ua: now, le: reason })
      .zrem(k.due(d.sem), d.id)
      .zrem(k.semaphore(d.sem), d.id)
      .zadd(k.ready, 'LT', now, d.sem)
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
