/**
 * The worker's rate limits, spent in blocks of tokens from Redis buckets shared by every worker: the global
 * rate towards db_proxy_server (TTPUSH_TEAMTALK_MAX_RATE, taken by TeamTalk.store before every IMMsgData) and
 * each app's rate_limit (taken by the chunk sender before every batch message; single messages were counted by
 * the API when accepted).
 * With no limit configured nothing here touches Redis.
 */
import type { Redis } from 'ioredis';
import type { Config } from '@ttpush/config';
import {
  LocalTokens,
  TokenBucket,
  appRateLimit,
  appRateLimitKey,
  defineRateLimitScript,
  teamtalkRateLimitKey,
  type RateLimitRedis,
} from '@ttpush/core';

/** Tokens taken from Redis per round trip, at most (and at most the bucket's burst). */
export const TOKEN_BLOCK = 64;

export class RateThrottles {
  /** TTPUSH_TEAMTALK_MAX_RATE's bucket; undefined when unlimited. */
  readonly global: LocalTokens | undefined;
  private readonly apps = new Map<string, LocalTokens | null>();
  private readonly redis: RateLimitRedis;

  constructor(
    redis: Redis,
    private readonly config: Pick<Config, 'appKeys' | 'devRateLimit' | 'redisPrefix' | 'teamtalk'>,
  ) {
    this.redis = defineRateLimitScript(redis);
    const rate = config.teamtalk.maxRate;
    this.global =
      rate > 0
        ? new LocalTokens(new TokenBucket(this.redis, teamtalkRateLimitKey(config.redisPrefix), rate), TOKEN_BLOCK)
        : undefined;
  }

  /** The app's bucket; undefined when the app has no rate_limit. */
  app(name: string | undefined): LocalTokens | undefined {
    if (name === undefined) return undefined;
    let t = this.apps.get(name);
    if (t === undefined) {
      const limit = appRateLimit(this.config, name);
      t =
        limit === undefined
          ? null
          : new LocalTokens(
              new TokenBucket(this.redis, appRateLimitKey(this.config.redisPrefix, name), limit),
              TOKEN_BLOCK,
            );
      this.apps.set(name, t);
    }
    return t ?? undefined;
  }
}
