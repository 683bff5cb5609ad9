/**
 * The API process: Redis connections (fail fast), the queue service, the Express app, the HTTP server,
 * and an owned shutdown.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '@ttpush/config';
import { RedisBatchService } from './batch-service.ts';
import { RedisMessageService } from './message-service.ts';
import {
  ConsoleSessionStore,
  StatsStore,
  TenantStore,
  WebhookStore,
  consumerRedis,
  producerRedis,
  redisTarget,
} from '@ttpush/store';
import { renderWorkerMetrics } from './metrics-text.ts';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { createApp } from './app.ts';
import { createApiMetrics } from './metrics.ts';
import { listenMetrics } from './metrics-server.ts';
import { onClientError } from './client-error.ts';
import { RedisRateLimiter } from './rate-limiter.ts';
import { TeamTalkGroups } from './groups.ts';
import { TenantKeyring } from './tenants/keyring.ts';
import { RateSampler, totals } from './console/rate-sampler.ts';
import { readOverview } from './console/overview.ts';
import { consoleSessions } from './console/session.ts';

export interface RunningApi {
  server: Server;
  port: number;
  service: RedisMessageService;
  batches: RedisBatchService;
  /** The port of /metrics when TTPUSH_METRICS_PORT is set. */
  metricsPort: number | undefined;
  close(): Promise<void>;
}

export async function startApi(config: Config, logger: Logger): Promise<RunningApi> {
  const target = redisTarget(config);
  if (!target) throw new Error('startApi needs config.redisUrl or config.redisClusterNodes');
  const redis = producerRedis(target);
  const queueConnection = producerRedis(target);
  const subscriber = consumerRedis(target);
  for (const r of [redis, queueConnection, subscriber]) {
    r.on('error', (err: Error) => logger.debug({ err: err.message }, 'redis connection error'));
  }
  const partitions = config.redisPartitions;
  const service = new RedisMessageService({
    redis,
    subscriber,
    queueConnection,
    prefix: config.redisPrefix,
    partitions,
    recordTtlMs: config.recordTtlMs,
  });
  const batches = new RedisBatchService({
    redis,
    queueConnection,
    prefix: config.redisPrefix,
    partitions,
    finishedTtlMs: config.recordTtlMs,
  });
  collectDefaultMetrics();
  const extraMetrics = async () => renderWorkerMetrics(await service.stats(), await service.health());
  const rateLimiter = new RedisRateLimiter(redis, config.redisPrefix);
  // Tenant keys: a connection of its own hears revocations and app changes from every api process.
  const tenantNotices = consumerRedis(target);
  tenantNotices.on('error', (err: Error) => logger.debug({ err: err.message }, 'redis connection error'));
  const tenantStore = new TenantStore(redis, config.redisPrefix);
  const tenantKeyring = new TenantKeyring(tenantStore);
  await tenantKeyring.listen(tenantNotices, logger.child({ component: 'tenants' }));
  // Group administration's own TeamTalk pools, connected on first use; none when TeamTalk is not configured.
  const groups =
    config.dbProxyAddrs.length > 0 && config.routeAddrs.length > 0
      ? new TeamTalkGroups(config, logger.child({ component: 'groups' }))
      : undefined;
  // The console's rate chart samples the workers' counters, only where the console can be opened.
  const sampler = new RateSampler(async () => ({
    depth: await service.queueDepth(),
    batchPending: await batches.backlog(),
    ...totals(await service.stats()),
  }));
  if (config.adminKey !== undefined) sampler.start();
  const overviewSources = {
    service,
    batches,
    stats: new StatsStore(redis, config.redisPrefix),
    queues: batches.queues.queues,
    sampler,
  };
  const webhooks = new WebhookStore(redis, config.redisPrefix);
  // One set of metrics for the API port and the metrics port, if any.
  const metrics = createApiMetrics(new Registry());
  const app = createApp({
    metrics,
    config,
    service,
    batches,
    webhooks,
    logger,
    extraMetrics,
    rateLimiter,
    tenants: { store: tenantStore, keyring: tenantKeyring },
    ...(groups && { groups }),
    console: {
      overview: () => readOverview(overviewSources),
      queues: batches.queues.queues,
      sessions: consoleSessions(new ConsoleSessionStore(redis, config.redisPrefix), config.adminKey),
    },
  });
  const server = createServer(app);
  server.on('clientError', onClientError);
  server.keepAliveTimeout = 65_000;
  // Node ends a request whose body has not arrived within requestTimeout (300 s): a batch upload allowed longer
  // (TTPUSH_UPLOAD_TIMEOUT) must not be cut off before its own limit answers 408.
  server.requestTimeout = Math.max(server.requestTimeout, config.upload.timeoutMs + 5000);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.http.port, config.http.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ host: config.http.host, port }, 'api listening');
  const metricsListener =
    config.metrics.port === undefined
      ? undefined
      : await listenMetrics(config, metrics, logger.child({ component: 'metrics' }), extraMetrics).catch(
          (err: unknown) => {
            // The process stops (the port is taken, say): do not leave the API port listening behind it.
            server.close();
            throw err;
          },
        );
  if (config.metrics.port === undefined && config.metrics.token === undefined && !isLoopback(config.http.host)) {
    logger.warn(
      { host: config.http.host },
      '/metrics is open on the API port and names apps, hosts and TeamTalk addresses: set TTPUSH_METRICS_TOKEN or TTPUSH_METRICS_PORT',
    );
  }

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      sampler.stop();
      if (metricsListener) {
        metricsListener.server.close();
        metricsListener.server.closeAllConnections();
      }
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => {
          server.closeAllConnections();
          resolve();
        }, 5000).unref();
      });
      await service.close().catch(() => undefined);
      await batches.close().catch(() => undefined);
      await groups?.close().catch(() => undefined);
      for (const r of [redis, queueConnection, subscriber, tenantNotices]) r.disconnect();
    })());
  return { server, port, service, batches, metricsPort: metricsListener?.port, close };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
