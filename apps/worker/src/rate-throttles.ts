/**
 * The worker's rate limits, spent in blocks of tokens from Redis buckets shared by every worker: the global
 * rate towards db_proxy_server (TTPUSH_TEAMTALK_MAX_RATE, taken by TeamTalk.store before every IMMsgData) and
 * each app's rate_limit (taken by the chunk sender before every batch message; single messages were counted by
 * the API when accepted). An app's rate_limit comes from the app keys file, else from its tenant app record in
 * Redis (re-read at most every TENANT_LIMIT_TTL_MS, so a change made with `ttpush admin apps set` applies soon).
 */
import type { Redis } from 'ioredis';
import type { Config } from '@ttpush/config';
import { LocalTokens, RateLimitStore, TenantReader, appRateLimit } from '@ttpush/store';

/** Tokens taken from Redis per round trip, at most (and at most the bucket's burst). */
export const TOKEN_BLOCK = 64;
/** How long a tenant app's rate_limit read from Redis is used before it is read again. */
export const TENANT_LIMIT_TTL_MS = 5000;

export class RateThrottles {
  /** TTPUSH_TEAMTALK_MAX_RATE's bucket; undefined when unlimited. */
  readonly global: LocalTokens | undefined;
  private readonly apps = new Map<string, LocalTokens>();
  private readonly tenantLimits = new Map<string, { limit: number | undefined; at: number }>();
  private readonly buckets: RateLimitStore;
  private readonly tenants: TenantReader;

  constructor(
    redis: Redis,
    private readonly config: Pick<Config, 'appKeys' | 'devRateLimit' | 'redisPrefix' | 'teamtalk'>,
  ) {
    this.tenants = new TenantReader(redis, config.redisPrefix);
    this.buckets = new RateLimitStore(redis, config.redisPrefix);
    const rate = config.teamtalk.maxRate;
    this.global = rate > 0 ? new LocalTokens(this.buckets.teamtalkBucket(rate), TOKEN_BLOCK) : undefined;
  }

  /** The app's bucket; undefined when the app has no rate_limit. */
  async app(name: string | undefined): Promise<LocalTokens | undefined> {
    if (name === undefined) return undefined;
    const limit = appRateLimit(this.config, name) ?? (await this.tenantLimit(name));
    if (limit === undefined) return undefined;
    let t = this.apps.get(name);
    if (t === undefined || t.rate !== limit) {
      t = new LocalTokens(this.buckets.appBucket(name, limit), TOKEN_BLOCK);
      this.apps.set(name, t);
    }
    return t;
  }

  /** A tenant app's rate_limit (undefined: none, or no such app); Redis unreachable: the last one read. */
  private async tenantLimit(name: string): Promise<number | undefined> {
    const cached = this.tenantLimits.get(name);
    const now = Date.now();
    if (cached !== undefined && now - cached.at < TENANT_LIMIT_TTL_MS) return cached.limit;
    let limit = cached?.limit;
    try {
      limit = await this.tenants.appRateLimit(name);
    } catch {
      // keep the last value; the next chunk tries again
    }
    this.tenantLimits.set(name, { limit, at: now });
    return limit;
  }
}
