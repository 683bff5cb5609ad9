/**
 * Token buckets in Redis, shared by every api and worker process: the per-app rate limit (P:rl:app:<name>)
 * and the global rate towards db_proxy_server (P:rl:teamtalk). One Lua script refills and takes atomically,
 * with Redis's own clock (lua/rate-take-tokens-1.lua), so processes on machines with skewed clocks still share one
 * rate. Keys: contract's RateLimitKeys.
 */
import type { Redis } from 'ioredis';
import type { Config } from '@ttpush/config';
import { RateLimitKeys } from '@ttpush/contract';
import { defineLuaScripts } from './scripts-loader.ts';

/** The name the development key (TTPUSH_DEV_APP_KEY) goes by; its limit is TTPUSH_DEV_RATE_LIMIT. */
export const DEV_APP = 'dev';

/** An app's messages/s limit from configuration, or undefined when it is unlimited. */
export function appRateLimit(config: Pick<Config, 'appKeys' | 'devRateLimit'>, app: string): number | undefined {
  if (app === DEV_APP) return config.devRateLimit;
  return config.appKeys.find((k) => k.name === app)?.rateLimit;
}

export interface TakeResult {
  /** Tokens taken (0 when refused). */
  granted: number;
  /** When refused: ms until enough tokens are there. */
  waitMs: number;
}

/** Which bucket: an app's rate_limit, or the global rate towards db_proxy_server. */
export type BucketName = { app: string } | 'teamtalk';

interface RateCommands {
  ttRateTakeTokens(key: string, rate: number, burst: number, want: number, min: number): Promise<[number, number]>;
}

/** The buckets of one prefix; a TokenBucket spends one of them. */
export class RateLimitStore {
  private readonly redis: Redis & RateCommands;
  private readonly keys: RateLimitKeys;

  constructor(redis: Redis, prefix: string) {
    this.redis = defineLuaScripts<RateCommands>(redis, ['rate-take-tokens']);
    this.keys = new RateLimitKeys(prefix);
  }

  /** Refills the bucket at `rate` up to `burst`, then takes up to `want` tokens if at least `min` are there. */
  async take(bucket: BucketName, t: { rate: number; burst: number; want: number; min: number }): Promise<TakeResult> {
    const key = bucket === 'teamtalk' ? this.keys.teamtalk : this.keys.app(bucket.app);
    const [granted, waitMs] = await this.redis.ttRateTakeTokens(key, t.rate, t.burst, t.want, t.min);
    return { granted: Number(granted), waitMs: Number(waitMs) };
  }

  /** The app's bucket at `rate` tokens/s. */
  appBucket(app: string, rate: number, burst?: number): TokenBucket {
    return new TokenBucket(this, { app }, rate, burst);
  }

  /** The global bucket towards db_proxy_server at `rate` tokens/s. */
  teamtalkBucket(rate: number, burst?: number): TokenBucket {
    return new TokenBucket(this, 'teamtalk', rate, burst);
  }
}

/** A bucket refilled at `rate` tokens/s holding at most `burst` (default: one second's worth). */
export class TokenBucket {
  readonly burst: number;

  constructor(
    private readonly store: RateLimitStore,
    readonly name: BucketName,
    readonly rate: number,
    burst = rate,
  ) {
    this.burst = Math.max(1, burst);
  }

  /** Takes up to `want` tokens (at most the burst) if at least `min` are there. */
  take(want: number, min = want): Promise<TakeResult> {
    const w = Math.min(Math.max(1, want), this.burst);
    const m = Math.min(Math.max(1, min), w);
    return this.store.take(this.name, { rate: this.rate, burst: this.burst, want: w, min: m });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Spends a Redis bucket locally: tokens are fetched in blocks (one round trip per block) and handed out one
 * by one. `take()` answers synchronously (undefined) while the block lasts, else a promise that resolves once
 * a token is ours, after waiting as the bucket says (one fetch at a time per process). Tokens left in a block
 * when the process stops are lost: the rate errs on the slow side.
 */
export class LocalTokens {
  private left = 0;
  private fetching: Promise<void> | undefined;
  private readonly block: number;

  constructor(
    private readonly bucket: TokenBucket,
    block = 64,
  ) {
    this.block = Math.max(1, Math.min(block, bucket.burst));
  }

  /** The bucket's refill rate, tokens/s. */
  get rate(): number {
    return this.bucket.rate;
  }

  take(): Promise<void> | undefined {
    if (this.left > 0) {
      this.left--;
      return undefined;
    }
    return this.takeSlow();
  }

  private async takeSlow(): Promise<void> {
    for (;;) {
      if (this.left > 0) {
        this.left--;
        return;
      }
      this.fetching ??= this.fetch().finally(() => (this.fetching = undefined));
      await this.fetching;
    }
  }

  private async fetch(): Promise<void> {
    for (;;) {
      const r = await this.bucket.take(this.block, 1);
      if (r.granted > 0) {
        this.left += r.granted;
        return;
      }
      await sleep(Math.max(1, r.waitMs));
    }
  }
}
