/**
 * The Express application of ttpush's API: /v1 (JSON, Bearer app keys), the legacy /query drop-in, group administration,
 * /healthz, /readyz, /metrics, the API reference (/openapi.json, /docs), tenant administration (/v1/admin), and for
 * operators /console and /admin/queues. The process wiring (Redis, listen, shutdown) lives in server.ts.
 */
import express from 'express';
import { Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { Config } from '@ttpush/config';
import { UrlPolicy } from '@ttpush/config';
import type { BatchService } from './batch-service.ts';
import type { MessageService } from './message-service.ts';
import type { WebhookStore } from '@ttpush/store';
import { createKeyring, DEV_APP_NAME } from './auth.ts';
import { errorHandler } from './error-handler.ts';
import { LOG_REDACT_PATHS } from './log-redact.ts';
import { createApiMetrics, type ApiMetrics } from './metrics.ts';
import { requestContext } from './request-context.ts';
import { docsRouter } from './routes/docs.ts';
import { healthRouter } from './routes/health.ts';
import { metricsRouter } from './routes/metrics.ts';
import { legacyRouter } from './routes/legacy.ts';
import { messagesRouter } from './routes/messages.ts';
import { batchesRouter } from './routes/batches.ts';
import { groupsRouter } from './routes/groups.ts';
import { legacyGroupsRouter } from './routes/legacy-groups.ts';
import { callbackUrlCheck, webhooksRouter } from './routes/webhooks.ts';
import type { GroupAdmin } from './groups.ts';
import { consoleRouter } from './routes/console.ts';
import { queuesBoardRouter } from './routes/queues-board.ts';
import type { Overview } from './console/overview.ts';
import { consoleSessions, type ConsoleSessions } from './console/session.ts';
import type { Queue } from 'bullmq';
import { notFound } from './routing.ts';
import type { RateLimiter } from './rate-limiter.ts';
import { adminKeyCheck } from './admin-auth.ts';
import { adminRouter } from './routes/admin.ts';
import type { TenantKeyring } from './tenants/keyring.ts';
import type { TenantStore } from '@ttpush/store';

export interface AppDeps {
  config: Config;
  service: MessageService;
  /** Batches (/v1/batches); the routes exist only when given. */
  batches?: BatchService;
  logger: Logger;
  /** Defaults to metrics in a registry of their own. */
  metrics?: ApiMetrics;
  /** Prometheus text appended to /metrics (the workers' counters, read from Redis). */
  extraMetrics?: () => Promise<string>;
  /** Per-app rate limits (app keys file rate_limit); none: no limit. */
  rateLimiter?: RateLimiter;
  /** Group administration over TeamTalk; absent: the group endpoints answer 503 / error 10. */
  groups?: GroupAdmin;
  /** Tenant apps and keys in Redis (keys `ttpk_...`, /v1/admin); absent: configuration keys only. */
  tenants?: { store: TenantStore; keyring: TenantKeyring };
  /** The operators' console (/console) and queue dashboard (/admin/queues); mounted only with `batches`. */
  console?: { overview: () => Promise<Overview>; queues: readonly Queue[]; sessions?: ConsoleSessions };
  /** Webhooks (/v1/webhooks, callback_url); the routes exist only when given. */
  webhooks?: WebhookStore;
}

export function createApp(deps: AppDeps): express.Express {
  const { config, service } = deps;
  const logger = deps.logger.child({ component: 'api' }, { redact: { paths: LOG_REDACT_PATHS, censor: '[redacted]' } });
  const metrics = deps.metrics ?? createApiMetrics(new Registry());
  metrics.setQueueDepthSource(() => service.queueDepth());
  const keyring = createKeyring(config, deps.tenants?.keyring);
  const quota = deps.tenants?.store;

  const app = express();
  app.disable('x-powered-by');
  // A message's status changes while its body may not look new to a cache: no ETag, no 304.
  app.set('etag', false);
  app.use(requestContext(logger, metrics));
  app.use(healthRouter({ service, logger }));
  // With TTPUSH_METRICS_PORT, /metrics is served there (metrics-server.ts) and not here.
  if (config.metrics.port === undefined) {
    app.use(metricsRouter({ metrics, extraMetrics: deps.extraMetrics, token: config.metrics.token }));
  }
  app.use(docsRouter());
  const { rateLimiter } = deps;
  const policy = new UrlPolicy(config.webhooks.allowedNetworks);
  const checkCallbackUrl = deps.webhooks && callbackUrlCheck(deps.webhooks, policy);
  app.use(messagesRouter({ config, service, keyring, metrics, logger, rateLimiter, quota, checkCallbackUrl }));
  if (deps.batches) {
    app.use(batchesRouter({ config, batches: deps.batches, keyring, metrics, logger, quota, checkCallbackUrl }));
  }
  if (deps.webhooks) app.use(webhooksRouter({ config, store: deps.webhooks, policy, keyring }));
  app.use(groupsRouter({ config, groups: deps.groups, keyring, logger }));
  app.use(
    adminRouter({
      store: deps.tenants?.store,
      check: adminKeyCheck(config.adminKey),
      logger,
      reservedNames: new Set([DEV_APP_NAME, ...config.appKeys.map((k) => k.name)]),
      bodyLimitBytes: config.http.bodyLimitBytes,
      metrics,
    }),
  );
  app.use(legacyRouter({ config, service, keyring, metrics, logger, rateLimiter, quota }));
  app.use(legacyGroupsRouter({ config, groups: deps.groups, keyring, logger }));
  if (deps.console && deps.batches) {
    const sessions = deps.console.sessions ?? consoleSessions(undefined, config.adminKey);
    app.use(
      consoleRouter({
        config,
        batches: deps.batches,
        overview: deps.console.overview,
        messages: service,
        logger,
        sessions,
      }),
    );
    app.use(queuesBoardRouter(config, deps.console.queues, sessions));
  }
  app.use(notFound);
  app.use(errorHandler(logger));
  return app;
}
