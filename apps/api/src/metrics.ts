/**
 * The API process's Prometheus metrics. The worker registers its own (sent, failed, latency,
 * TeamTalk connections) in its own process.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface ApiMetrics {
  registry: Registry;
  /** Messages newly accepted (idempotent replays are not counted). */
  accepted: Counter<'app' | 'priority'>;
  httpRequests: Counter<'route' | 'status'>;
  /** Requests of an authenticated app (tenant or configuration key), by app name and status code. */
  appRequests: Counter<'app' | 'status'>;
  /** Admin changes (app.create, key.revoke, ...), as the audit log records them. */
  adminChanges: Counter<'action'>;
  /** Time to answer, by route template (the Grafana dashboard's latency panel). */
  httpDuration: Histogram<'route'>;
  /** Batch uploads stopped before their end: client_gone, timeout, too_large, too_many_lines. */
  uploadsStopped: Counter<'reason'>;
  /** Messages accepted and not yet terminal, read from the queue at scrape time. */
  queueDepth: Gauge;
  /** Where queueDepth reads from; createApp points it at service.queueDepth(). */
  setQueueDepthSource(read: () => Promise<number>): void;
}

export function createApiMetrics(registry: Registry): ApiMetrics {
  let readDepth: (() => Promise<number>) | undefined;
  const accepted = new Counter({
    name: 'ttpush_messages_accepted_total',
    help: 'Messages accepted by the API (202), by app key name and priority',
    labelNames: ['app', 'priority'] as const,
    registers: [registry],
  });
  const httpRequests = new Counter({
    name: 'ttpush_http_requests_total',
    help: 'HTTP requests answered, by route template and status code',
    labelNames: ['route', 'status'] as const,
    registers: [registry],
  });
  const appRequests = new Counter({
    name: 'ttpush_app_requests_total',
    help: 'Requests of an authenticated app, by app name and status code (403/429: scope, quota or rate refusals)',
    labelNames: ['app', 'status'] as const,
    registers: [registry],
  });
  const adminChanges = new Counter({
    name: 'ttpush_admin_changes_total',
    help: 'Admin changes to apps and keys, by action (as in the audit log)',
    labelNames: ['action'] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'ttpush_http_request_duration_seconds',
    help: 'Time from request to the end of the answer, by route template',
    labelNames: ['route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const uploadsStopped = new Counter({
    name: 'ttpush_batch_uploads_stopped_total',
    help: 'Batch uploads stopped before their end (nothing queued), by reason: client_gone, timeout, too_large, too_many_lines',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const queueDepth = new Gauge({
    name: 'ttpush_queue_depth',
    help: 'Messages accepted and not yet sent, failed or cancelled',
    registers: [registry],
    async collect() {
      if (readDepth === undefined) return;
      try {
        this.set(await readDepth());
      } catch {
        // Redis unreachable: the scrape still answers; the gauge keeps its last value and /readyz says why.
      }
    },
  });
  return {
    registry,
    accepted,
    httpRequests,
    appRequests,
    adminChanges,
    httpDuration,
    uploadsStopped,
    queueDepth,
    setQueueDepthSource(read) {
      readDepth = read;
    },
  };
}
