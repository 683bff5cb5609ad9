/**
 * The per-app rate limit on the API side: each accepted /v1/messages or legacy /query send takes one token
 * of the app's Redis bucket (P:rl:app:<name>, shared by every api process). An app without a limit costs
 * no Redis round trip.
 */
import type { RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import type { Config } from '@ttpush/config';
import {
  ServiceUnavailableError,
  TokenBucket,
  appRateLimit,
  appRateLimitKey,
  defineRateLimitScript,
  type RateLimitRedis,
} from '@ttpush/core';
import { ApiError } from './errors.ts';
import { locals } from './locals.ts';

export type Admission = { ok: true } | { ok: false; limit: number; retryAfterS: number };

export interface RateLimiter {
  /** Takes one token of `app`'s bucket; refuses with the whole seconds to wait (≥ 1) when there is none. */
  admit(app: string): Promise<Admission>;
}

export class RedisRateLimiter implements RateLimiter {
  private readonly redis: RateLimitRedis;
  private readonly buckets = new Map<string, TokenBucket | null>();

  constructor(
    redis: Redis,
    private readonly config: Pick<Config, 'appKeys' | 'devRateLimit' | 'redisPrefix'>,
  ) {
    this.redis = defineRateLimitScript(redis);
  }

  private bucket(app: string): TokenBucket | null {
    let b = this.buckets.get(app);
    if (b === undefined) {
      const limit = appRateLimit(this.config, app);
      b =
        limit === undefined ? null : new TokenBucket(this.redis, appRateLimitKey(this.config.redisPrefix, app), limit);
      this.buckets.set(app, b);
    }
    return b;
  }

  async admit(app: string): Promise<Admission> {
    const b = this.bucket(app);
    if (b === null) return { ok: true };
    let r;
    try {
      r = await b.take(1);
    } catch (err) {
      throw new ServiceUnavailableError(`Redis is unavailable: ${(err as Error).message}`, { cause: err });
    }
    if (r.granted > 0) return { ok: true };
    return { ok: false, limit: b.rate, retryAfterS: Math.max(1, Math.ceil(r.waitMs / 1000)) };
  }
}

/** Refuses a request of an app over its limit with 429 rate_limited and Retry-After; needs locals.app. */
export function rateLimit(limiter: RateLimiter | undefined): RequestHandler {
  return (_req, res, next) => {
    const app = locals(res).app;
    if (limiter === undefined || app === undefined) {
      next();
      return;
    }
    limiter.admit(app.name).then((a) => {
      if (a.ok) {
        next();
        return;
      }
      next(
        new ApiError(
          'rate_limited',
          `the app '${app.name}' may send ${a.limit} messages per second (its rate_limit) and has used them: retry after ${a.retryAfterS} s`,
          null,
          { 'Retry-After': String(a.retryAfterS) },
        ),
      );
    }, next);
  };
}
