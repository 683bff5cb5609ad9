/**
 * Token buckets in Redis, shared by every api and worker process: the per-app rate limit (P:rl:app:<name>)
 * and the global rate towards db_proxy_server (P:rl:teamtalk). One Lua script refills and takes atomically,
 * with Redis's own clock, so processes on machines with skewed clocks still share one rate.
 *
 *   P:rl:app:<name>  hash  t: tokens left (fractional), ts: when they were counted (ms, Redis time)
 *   P:rl:teamtalk    hash  the same, for all workers together
 */
import type { Redis } from 'ioredis';
import type { Config } from '@ttpush/config';

/** The name the development key (TTPUSH_DEV_APP_KEY) goes by; its limit is TTPUSH_DEV_RATE_LIMIT. */
export const DEV_APP = 'dev';

/** An app's messages/s limit from configuration, or undefined when it is unlimited. */
export function appRateLimit(config: Pick<Config, 'appKeys' | 'devRateLimit'>, app: string): number | undefined {
  if (app === DEV_APP) return config.devRateLimit;
  return config.appKeys.find((k) => k.name === app)?.rateLimit;
}

/**
 * KEYS: bucket. ARGV: rate (tokens/s), burst, want, min.
 * Refills at `rate` up to `burst`, then takes up to `want` tokens when at least `min` are there.
 * Returns {granted, waitMs}: granted > 0, waitMs 0; or granted 0 and the ms until `min` tokens will be there.
 */
const TAKE = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local min = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local v = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = burst
if v[1] and v[2] then
  local elapsed = now - tonumber(v[2])
  if elapsed < 0 then elapsed = 0 end
  tokens = math.min(burst, tonumber(v[1]) + elapsed * rate / 1000)
end
local granted = 0
local waitMs = 0
if tokens >= min then
  granted = math.min(want, math.floor(tokens))
  tokens = tokens - granted
else
  waitMs = math.ceil((min - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {granted, waitMs}
`;

export interface TakeResult {
  /** Tokens taken (0 when refused). */
  granted: number;
  /** When refused: ms until enough tokens are there. */
  waitMs: number;
}

interface TakeCommand {
  ttTakeTokens(key: string, rate: number, burst: number, want: number, min: number): Promise<[number, number]>;
}

export type RateLimitRedis = Redis & TakeCommand;

export function defineRateLimitScript(redis: Redis): RateLimitRedis {
  if (!('ttTakeTokens' in redis)) redis.defineCommand('ttTakeTokens', { numberOfKeys: 1, lua: TAKE });
  return redis as RateLimitRedis;
}

export function appRateLimitKey(prefix: string, app: string): string {
  return `${prefix}:rl:app:${app}`;
}

export function teamtalkRateLimitKey(prefix: string): string {
  return `${prefix}:rl:teamtalk`;
}

/** A bucket refilled at `rate` tokens/s holding at most `burst` (default: one second's worth). */
export class TokenBucket {
  readonly burst: number;

  constructor(
    private readonly redis: RateLimitRedis,
    readonly key: string,
    readonly rate: number,
    burst = rate,
  ) {
    this.burst = Math.max(1, burst);
  }

  /** Takes up to `want` tokens (at most the burst) if at least `min` are there. */
  async take(want: number, min = want): Promise<TakeResult> {
    const w = Math.min(Math.max(1, want), this.burst);
    const m = Math.min(Math.max(1, min), w);
    const [granted, waitMs] = await this.redis.ttTakeTokens(this.key, this.rate, this.burst, w, m);
    return { granted: Number(granted), waitMs: Number(waitMs) };
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
