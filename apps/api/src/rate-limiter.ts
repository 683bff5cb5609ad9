/**
 * The per-app rate limit on the API side: each accepted /v1/messages or legacy /query send takes one token
 * of the app's Redis bucket (P:rl:app:<name>, shared by every api process). The limit comes with the
 * caller's identity (app keys file rate_limit, TTPUSH_DEV_RATE_LIMIT, or a tenant app's rate_limit). An
 * app without a limit costs no Redis round trip.
 */
import type { RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import { RateLimitStore, unavailable, type TokenBucket } from '@ttpush/store';
import { ApiError } from './errors.ts';
import { locals } from './locals.ts';

export type Admission = { ok: true } | { ok: false; limit: number; retryAfterS: number };

export interface RateLimiter {
  /** Takes one token of `app`'s bucket; refuses with the whole seconds to wait (≥ 1) when there is none. */
  admit(app: string, limit: number | undefined): Promise<Admission>;
}

export class RedisRateLimiter implements RateLimiter {
  private readonly store: RateLimitStore;
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(redis: Redis, prefix: string) {
    this.store = new RateLimitStore(redis, prefix);
  }

  /** The app's bucket at `limit`; a tenant app's limit may change, and its bucket with it. */
  private bucket(app: string, limit: number): TokenBucket {
    let b = this.buckets.get(app);
    if (b === undefined || b.rate !== limit) {
      b = this.store.appBucket(app, limit);
      this.buckets.set(app, b);
    }
    return b;
  }

  async admit(app: string, limit: number | undefined): Promise<Admission> {
    if (limit === undefined) return { ok: true };
    const b = this.bucket(app, limit);
    let r;
    try {
      r = await b.take(1);
    } catch (err) {
      throw unavailable(err);
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
    limiter.admit(app.name, app.rateLimit).then((a) => {
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
