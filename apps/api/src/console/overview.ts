/**
 * The console's one JSON read (GET /console/api/overview): queue depth and jobs waiting, the rate chart's
 * series, recent batches with progress, recent failures grouped by code, TeamTalk connection states.
 */
import type { BatchView, FailureExample, HealthReport } from '@ttpush/contract';
import type { BatchService } from '../batch-service.ts';
import { ServiceUnavailableError, type StatsStore } from '@ttpush/store';
import { degradedDbProxies } from '../health-report.ts';
import type { RatePoint, RateSampler } from './rate-sampler.ts';

/** Batches the page lists. */
export const OVERVIEW_BATCHES = 20;
/** Examples shown per failure code. */
export const EXAMPLES_PER_CODE = 5;

/** The BullMQ job states counted (lanes and batch chunks share one queue). */
export const JOB_STATES = ['waiting', 'prioritized', 'active', 'delayed'] as const;

export interface OverviewSources {
  service: {
    queueDepth(): Promise<number>;
    health(): Promise<HealthReport>;
  };
  batches: BatchService;
  /** The workers' counters and the newest failed messages. */
  stats: Pick<StatsStore, 'read' | 'recentFailures'>;
  /** The lanes queues, one per partition (lane activations and batch chunks); their job counts are summed. */
  queues: readonly { getJobCounts(...types: string[]): Promise<Record<string, number>> }[];
  sampler: RateSampler;
}

export interface ConsoleBatch extends BatchView {
  /** Share of the valid recipients that are sent, failed or cancelled (0-100, one decimal). */
  progress_percent: number;
}

export interface FailureGroup {
  code: string;
  /** Messages and batch recipients failed with this code since the counters began. */
  count: number;
  /** The newest failed messages with this code, newest first. */
  examples: FailureExample[];
}

export interface TeamTalkState {
  worker: string;
  seen_ms_ago: number;
  connections: { role: string; address: string; status: string }[];
}

export interface Overview {
  generated_at: string;
  /** depth: single messages not yet terminal; batch_pending: batch recipients not yet done; jobs: BullMQ's counts. */
  queue: { depth: number; batch_pending: number; jobs: Record<(typeof JOB_STATES)[number], number> };
  rate: { sent_per_s: number; failed_per_s: number };
  /** Oldest first, one point per sample over the last 10 minutes. */
  series: readonly RatePoint[];
  batches: ConsoleBatch[];
  failures: FailureGroup[];
  teamtalk: TeamTalkState[];
  /** db_proxy_servers some live worker sees answer some requests and not others (likely a parked thread). */
  db_proxy_degraded: { address: string; reason: string; workers: number }[];
  links: { queues: string };
}

export function progressPercent(v: BatchView): number {
  const valid = v.total - v.rejected;
  if (valid <= 0) return v.status === 'completed' ? 100 : 0;
  const done = v.counts.sent + v.counts.failed + v.counts.cancelled;
  return Math.min(100, Math.round((1000 * done) / valid) / 10);
}

export function groupFailures(stats: Record<string, number>, examples: FailureExample[]): FailureGroup[] {
  const groups = new Map<string, FailureGroup>();
  for (const [k, v] of Object.entries(stats)) {
    if (k.startsWith('failed:') && v > 0) groups.set(k.slice(7), { code: k.slice(7), count: v, examples: [] });
  }
  for (const e of examples) {
    let g = groups.get(e.code);
    if (!g) groups.set(e.code, (g = { code: e.code, count: 0, examples: [] }));
    if (g.examples.length < EXAMPLES_PER_CODE) g.examples.push(e);
  }
  for (const g of groups.values()) g.count = Math.max(g.count, g.examples.length);
  return [...groups.values()].sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));
}

function connectionsOf(raw: unknown): TeamTalkState['connections'] {
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((c: unknown) => {
    const o = c as { role?: unknown; address?: unknown; status?: unknown };
    return typeof o?.role === 'string' && typeof o.address === 'string' && typeof o.status === 'string'
      ? [{ role: o.role, address: o.address, status: o.status }]
      : [];
  });
}

async function sumJobCounts(queues: OverviewSources['queues']): Promise<Record<string, number>> {
  const counts = await Promise.all(queues.map((q) => q.getJobCounts(...JOB_STATES)));
  const sum: Record<string, number> = {};
  for (const c of counts) for (const [state, n] of Object.entries(c)) sum[state] = (sum[state] ?? 0) + n;
  return sum;
}

/** Throws ServiceUnavailableError (from the services) when Redis is down. */
export async function readOverview(src: OverviewSources, now = Date.now()): Promise<Overview> {
  const [depth, batchPending, jobs, stats, health, batches, failures] = await Promise.all([
    src.service.queueDepth(),
    src.batches.backlog(),
    sumJobCounts(src.queues),
    src.stats.read(),
    src.service.health(),
    src.batches.listRecent(OVERVIEW_BATCHES),
    src.stats.recentFailures(),
  ]).catch((err: unknown) => {
    // BullMQ and plain commands fail with Redis's own errors: all of them mean the queue is unreachable.
    if (err instanceof ServiceUnavailableError) throw err;
    throw new ServiceUnavailableError(err instanceof Error ? err.message : String(err));
  });
  const series = src.sampler.series();
  const last = series.at(-1);
  return {
    generated_at: new Date(now).toISOString(),
    queue: {
      depth,
      batch_pending: batchPending,
      jobs: Object.fromEntries(JOB_STATES.map((s) => [s, jobs[s] ?? 0])) as Overview['queue']['jobs'],
    },
    rate: { sent_per_s: last?.sent_per_s ?? 0, failed_per_s: last?.failed_per_s ?? 0 },
    series,
    batches: batches.map((b) => ({ ...b, progress_percent: progressPercent(b) })),
    failures: groupFailures(stats, failures),
    teamtalk: health.workers.map((w) => ({
      worker: w.id,
      seen_ms_ago: w.seenMsAgo,
      connections: connectionsOf(w.connections),
    })),
    db_proxy_degraded: degradedDbProxies(health),
    links: { queues: '/admin/queues' },
  };
}
