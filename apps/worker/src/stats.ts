/**
 * Worker counters, flushed to Redis (store StatsStore, P:stats) once a second so that any API process can serve
 * cluster-wide /metrics: messages sent, failed by code, accept-to-stored latency buckets; and, with them, the
 * newest failed messages for the console (recent-failures.ts).
 */
import { FAILURE_CODES, LATENCY_BUCKETS_MS, RECENT_FAILURES, type FailureExample } from '@ttpush/contract';
import type { StatsStore } from '@ttpush/store';

/** The histogram's fields, bucket by bucket, the last one +Inf. */
const LATENCY_FIELDS = [...LATENCY_BUCKETS_MS.map((le) => `lat_le_${le}`), 'lat_le_inf'];

export class WorkerStats {
  private counts = new Map<string, number>();
  /** Sends counted since the last flush, by latency bucket (folded into the counts when flushed). */
  private latencies = new Float64Array(LATENCY_FIELDS.length);
  private latencySumMs = 0;
  /** Oldest first; never more than the list keeps. */
  private examples: FailureExample[] = [];
  readBackFound = 0;
  routeUnavailable = 0;
  /** Messages sent again after a silence, once db_proxy settled and reading back showed them absent. */
  resent = 0;

  private add(field: string, n = 1): void {
    this.counts.set(field, (this.counts.get(field) ?? 0) + n);
  }

  /** A message sent, `latencyMs` after it was due. Once per message of a batch: counters only, no Map. */
  sent(latencyMs: number): void {
    this.latencySumMs += Math.max(0, Math.round(latencyMs));
    let b = 0;
    while (b < LATENCY_BUCKETS_MS.length && !(latencyMs <= LATENCY_BUCKETS_MS[b]!)) b++;
    this.latencies[b]!++;
  }

  private foldLatencies(): void {
    let sent = 0;
    for (let b = 0; b < LATENCY_FIELDS.length; b++) {
      const n = this.latencies[b]!;
      if (n === 0) continue;
      sent += n;
      this.add(LATENCY_FIELDS[b]!, n);
    }
    if (sent === 0) return;
    this.add('sent', sent);
    this.add('lat_sum_ms', this.latencySumMs);
    this.add('lat_count', sent);
    this.latencies.fill(0);
    this.latencySumMs = 0;
  }

  /** `id`: the failed message, listed among the console's recent failures. */
  failed(code: string, id?: string): void {
    this.add(`failed:${code}`);
    if (id === undefined) return;
    const message = (FAILURE_CODES as Record<string, string>)[code] ?? '';
    this.examples.push({ id, code, message, at: Date.now() });
    if (this.examples.length > RECENT_FAILURES) this.examples.shift();
  }

  /** Requests a db_proxy_server (`host:port`) left without a reply. */
  unanswered(address: string, n: number): void {
    this.add(`unanswered:${address}`, n);
  }

  /** Webhook attempts by outcome (delivered, retried, dead) and endpoints disabled (endpoint_disabled). */
  webhook(outcome: 'delivered' | 'retried' | 'dead' | 'endpoint_disabled'): void {
    this.add(`webhook:${outcome}`);
  }

  async flush(writer: StatsStore): Promise<void> {
    this.foldLatencies();
    if (this.readBackFound) this.add('read_back_found', this.readBackFound);
    if (this.routeUnavailable) this.add('route_unavailable', this.routeUnavailable);
    if (this.resent) this.add('resent_after_silence', this.resent);
    this.readBackFound = 0;
    this.routeUnavailable = 0;
    this.resent = 0;
    if (this.counts.size === 0) return;
    const batch = this.counts;
    const examples = this.examples;
    this.counts = new Map();
    this.examples = [];
    try {
      await writer.flush(batch, examples);
    } catch {
      for (const [f, n] of batch) this.add(f, n);
      // Examples are a convenience: dropped rather than retried.
    }
  }
}
