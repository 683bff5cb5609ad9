/**
 * Worker counters, flushed to Redis (P:stats) once a second so that any API process can serve
 * cluster-wide /metrics: messages sent, failed by code, accept-to-stored latency buckets.
 */
import type { Redis } from 'ioredis';
import { LATENCY_BUCKETS_MS } from '@ttpush/core';

export class WorkerStats {
  private counts = new Map<string, number>();
  readBackFound = 0;
  routeUnavailable = 0;

  private add(field: string, n = 1): void {
    this.counts.set(field, (this.counts.get(field) ?? 0) + n);
  }

  sent(latencyMs: number): void {
    this.add('sent');
    this.add('lat_sum_ms', Math.max(0, Math.round(latencyMs)));
    this.add('lat_count');
    const b = LATENCY_BUCKETS_MS.find((le) => latencyMs <= le);
    this.add(`lat_le_${b ?? 'inf'}`);
  }

  failed(code: string): void {
    this.add(`failed:${code}`);
  }

  /** Webhook attempts by outcome (delivered, retried, dead) and endpoints disabled (endpoint_disabled). */
  webhook(outcome: 'delivered' | 'retried' | 'dead' | 'endpoint_disabled'): void {
    this.add(`webhook:${outcome}`);
  }

  async flush(redis: Redis, key: string): Promise<void> {
    if (this.readBackFound) this.add('read_back_found', this.readBackFound);
    if (this.routeUnavailable) this.add('route_unavailable', this.routeUnavailable);
    this.readBackFound = 0;
    this.routeUnavailable = 0;
    if (this.counts.size === 0) return;
    const batch = this.counts;
    this.counts = new Map();
    const pipe = redis.pipeline();
    for (const [f, n] of batch) pipe.hincrby(key, f, n);
    try {
      await pipe.exec();
    } catch {
      for (const [f, n] of batch) this.add(f, n);
    }
  }
}
