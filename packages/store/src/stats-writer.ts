/**
 * The workers' side of P:stats (keys.ts): counters added by HINCRBY, and the newest failed messages pushed onto the
 * recent-failures list (contract recent-failures.ts), in one pipeline: the list shares the hash's Cluster slot.
 */
import type { Redis } from 'ioredis';
import { Keys, RECENT_FAILURES, recentFailuresKey, type FailureExample } from '@ttpush/contract';

export class StatsWriter {
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.key = new Keys(prefix).stats;
  }

  /**
   * Adds `counters` to the hash and pushes `failures` (oldest first) onto the list, which keeps the newest
   * RECENT_FAILURES. Rejects when the pipeline was not sent: the caller keeps its counters for the next flush.
   */
  async flush(counters: ReadonlyMap<string, number>, failures: readonly FailureExample[]): Promise<void> {
    if (counters.size === 0 && failures.length === 0) return;
    const pipe = this.redis.pipeline();
    for (const [field, n] of counters) pipe.hincrby(this.key, field, n);
    if (failures.length > 0) {
      const list = recentFailuresKey(this.key);
      // LPUSH of oldest..newest leaves the newest at the head.
      pipe.lpush(list, ...failures.map((e) => JSON.stringify(e))).ltrim(list, 0, RECENT_FAILURES - 1);
    }
    await pipe.exec();
  }
}
