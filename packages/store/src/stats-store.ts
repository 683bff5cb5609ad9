/**
 * The workers' counters (P:stats: sent, failed:<code>, latency buckets, ...; each field a count) and the newest
 * failed messages beside them (contract's recent-failures.ts). Workers flush both in one pipeline; any api process
 * reads them for /metrics and the console.
 */
import type { Redis } from 'ioredis';
import { Keys, RECENT_FAILURES, recentFailuresKey, type FailureExample } from '@ttpush/contract';
import { execPipeline, unavailable } from './redis-errors.ts';

export class StatsStore {
  private readonly key: string;
  private readonly failuresKey: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.key = new Keys(prefix).stats;
    this.failuresKey = recentFailuresKey(this.key);
  }

  /** Every counter. Throws ServiceUnavailableError when Redis is down. */
  async read(): Promise<Record<string, number>> {
    try {
      const h = await this.redis.hgetall(this.key);
      return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Number(v)]));
    } catch (err) {
      throw unavailable(err);
    }
  }

  /** The newest failed messages, newest first. Throws ServiceUnavailableError when Redis is down. */
  async recentFailures(): Promise<FailureExample[]> {
    try {
      return parseFailureExamples(await this.redis.lrange(this.failuresKey, 0, RECENT_FAILURES - 1));
    } catch (err) {
      throw unavailable(err);
    }
  }

  /**
   * Adds `counts` to the counters and pushes `examples` (oldest first) onto the recent failures, keeping
   * RECENT_FAILURES, in one pipeline (the two keys share a Cluster slot). Rejects when Redis cannot be reached:
   * the caller keeps its counts for the next flush.
   */
  async flush(counts: ReadonlyMap<string, number>, examples: readonly FailureExample[]): Promise<void> {
    if (counts.size === 0 && examples.length === 0) return;
    const pipe = this.redis.pipeline();
    for (const [f, n] of counts) pipe.hincrby(this.key, f, n);
    if (examples.length > 0) {
      // LPUSH of oldest..newest leaves the newest at the head.
      pipe
        .lpush(this.failuresKey, ...examples.map((e) => JSON.stringify(e)))
        .ltrim(this.failuresKey, 0, RECENT_FAILURES - 1);
    }
    // A command refused inside the pipeline rejects too: the caller keeps its counts for the next flush.
    await execPipeline(pipe);
  }
}

/** Entries as stored; a line that is not one (written by something else) is left out. */
export function parseFailureExamples(lines: readonly string[]): FailureExample[] {
  const out: FailureExample[] = [];
  for (const line of lines) {
    try {
      const v = JSON.parse(line) as Partial<FailureExample>;
      if (typeof v.id === 'string' && typeof v.code === 'string' && typeof v.at === 'number') {
        out.push({ id: v.id, code: v.code, message: typeof v.message === 'string' ? v.message : '', at: v.at });
      }
    } catch {
      // not ours
    }
  }
  return out;
}
