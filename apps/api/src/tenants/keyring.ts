/**
 * The Redis-backed half of the keyring: tenant keys (`ttpk_<key id>_<secret>`) with an in-process cache.
 * A revocation or an app change is published on P:tn:changes; every api process subscribes and drops
 * the cached entry at once. Cache entries also expire after `ttlMs` (a backstop for a missed notice), and
 * a key whose revoked_at has passed is refused even while cached (a rotation's grace ends on time).
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { keyDigest, type AppIdentity, type TenantLookup } from '../auth.ts';
import { secretMatches, type AppRecord, type IdScope, type StoredKey, type TenantStore } from '@ttpush/store';

export const CACHE_TTL_MS = 5000;
const CACHE_MAX_ENTRIES = 10_000;
/** last_used_at is coarse: written at most this often per key and process. */
const TOUCH_EVERY_MS = 60_000;

interface Entry {
  /** null: no such key (ids are random and never reused, so a miss may be cached too). */
  key: StoredKey | null;
  app: AppRecord | null;
  identity: AppIdentity | null;
  fetchedAt: number;
}

const idSet = (s: IdScope): ReadonlySet<number> | '*' => (s === '*' ? '*' : new Set(s));

function identityOf(key: StoredKey, app: AppRecord): AppIdentity {
  return {
    name: app.name,
    keyId: key.id,
    senders: idSet(key.scopes.senders),
    groups: idSet(key.scopes.groups),
    batches: key.scopes.batches,
    manageGroups: key.scopes.manage_groups,
    readAll: key.scopes.read_all,
    manageWebhooks: key.scopes.manage_webhooks,
    priority: app.priority,
    rateLimit: app.rate_limit ?? undefined,
    dailyQuota: app.daily_quota ?? undefined,
  };
}

export class TenantKeyring implements TenantLookup {
  private readonly cache = new Map<string, Entry>();
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly store: TenantStore,
    private readonly ttlMs = CACHE_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  async lookup(id: string, part: string): Promise<AppIdentity | null> {
    const t = this.now();
    let e = this.cache.get(id);
    if (e === undefined || t - e.fetchedAt >= this.ttlMs) {
      const key = await this.store.getKey(id);
      const app = key === null ? null : await this.store.getApp(key.app);
      e = { key, app, identity: key !== null && app !== null ? identityOf(key, app) : null, fetchedAt: t };
      // Full: the oldest entry goes (a Map iterates in insertion order). Clearing it all would let a caller flush
      // every good key's entry with made-up key ids, each miss being cached too.
      this.cache.delete(id);
      if (this.cache.size >= CACHE_MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(id, e);
    }
    const { key, app, identity } = e;
    if (key === null || app === null || identity === null) return null;
    if (!secretMatches(part, key.hash, keyDigest)) return null;
    if (key.revoked_at !== null && Date.parse(key.revoked_at) <= t) return null;
    if (app.disabled) return null;
    if (t - (this.touched.get(id) ?? 0) >= TOUCH_EVERY_MS) {
      if (this.touched.size >= CACHE_MAX_ENTRIES) this.touched.clear();
      this.touched.set(id, t);
      this.store.touch(id, t);
    }
    return identity;
  }

  /** Drops what is cached of `key:<id>` or `app:<name>` (a notice from P:tn:changes). */
  drop(change: string): void {
    if (change.startsWith('key:')) {
      this.cache.delete(change.slice(4));
    } else if (change.startsWith('app:')) {
      const name = change.slice(4);
      for (const [id, e] of this.cache) if (e.key?.app === name) this.cache.delete(id);
    }
  }

  /**
   * Subscribes `subscriber` (a connection of its own) to the change notices. Resolves once subscribed, or
   * after `waitMs` when Redis is not reachable: ioredis subscribes when it connects, and the cache TTL
   * covers the meantime.
   */
  async listen(subscriber: Redis, logger: Logger, waitMs = 2000): Promise<void> {
    // After a reconnect ioredis subscribes again, but notices sent meanwhile are lost: start afresh.
    subscriber.on('ready', () => this.cache.clear());
    let timer: NodeJS.Timeout | undefined;
    const subscribed = this.store
      .watchChanges(subscriber, (change) => this.drop(change))
      .then(
        () => true,
        () => false,
      );
    const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), waitMs)));
    const ok = await Promise.race([subscribed, late]);
    clearTimeout(timer);
    if (!ok) logger.warn('tenant change notices: not subscribed yet (Redis unreachable); cached keys expire in 5 s');
  }
}
