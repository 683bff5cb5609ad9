/**
 * The API process: Redis connections (fail fast), the queue service, the Express app, the HTTP server,
 * and an owned shutdown.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '@ttpush/config';
import {
  RedisBatchService,
  RedisMessageService,
  WebhookStore,
  consumerRedis,
  producerRedis,
  renderWorkerMetrics,
} from '@ttpush/core';
import { collectDefaultMetrics } from 'prom-client';
import { createApp } from './app.ts';
import { onClientError } from './client-error.ts';
import { RedisRateLimiter } from './rate-limiter.ts';
import { TeamTalkGroups } from './groups.ts';

export interface RunningApi {
  server: Server;
  port: number;
  service: RedisMessageService;
  batches: RedisBatchService;
  close(): Promise<void>;
}

export async function startApi(config: Config, logger: Logger): Promise<RunningApi> {
  if (!config.redisUrl) throw new Error('startApi needs config.redisUrl');
  const redis = producerRedis(config.redisUrl);
  const queueConnection = producerRedis(config.redisUrl);
  const subscriber = consumerRedis(config.redisUrl);
  for (const r of [redis, queueConnection, subscriber]) {
    r.on('error', (err: Error) => logger.debug({ err: err.message }, 'redis connection error'));
  }
  const service = new RedisMessageService({ redis, subscriber, queueConnection, prefix: config.redisPrefix });
  const batches = new RedisBatchService({ redis, queueConnection, prefix: config.redisPrefix });
  collectDefaultMetrics();
  const extraMetrics = async () => renderWorkerMetrics(await service.stats(), await service.health());
  const rateLimiter = new RedisRateLimiter(redis, config);
  // Group administration's own TeamTalk pools, connected on first use; none when TeamTalk is not configured.
  const groups =
    config.dbProxyAddrs.length > 0 && config.routeAddrs.length > 0
      ? new TeamTalkGroups(config, logger.child({ component: 'groups' }))
      : undefined;
  const webhooks = new WebhookStore(redis, config.redisPrefix);
  const app = createApp({
    config,
    service,
    batches,
    webhooks,
    logger,
    extraMetrics,
    rateLimiter,
    ...(groups && { groups }),
  });
  const server = createServer(app);
  server.on('clientError', onClientError);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.http.port, config.http.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ host: config.http.host, port }, 'api listening');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
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
      for (const r of [redis, queueConnection, subscriber]) r.disconnect();
    })());
  return { server, port, service, batches, close };
}
