/**
 * The listener of TTPUSH_METRICS_PORT: /metrics alone (with TTPUSH_METRICS_TOKEN when set), so that the API port
 * can face callers while Prometheus scrapes a port only it reaches. Every other path answers 404.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Logger } from 'pino';
import type { Config } from '@ttpush/config';
import { onClientError } from './client-error.ts';
import { errorHandler } from './error-handler.ts';
import type { ApiMetrics } from './metrics.ts';
import { requestContext } from './request-context.ts';
import { metricsRouter } from './routes/metrics.ts';
import { ApiError } from './errors.ts';

export function createMetricsApp(
  config: Config,
  metrics: ApiMetrics,
  logger: Logger,
  extraMetrics?: () => Promise<string>,
): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestContext(logger, metrics));
  app.use(metricsRouter({ metrics, extraMetrics, token: config.metrics.token }));
  app.use((req) => {
    throw new ApiError('not_found', `there is no endpoint at ${req.path} on the metrics port: it serves /metrics only`);
  });
  app.use(errorHandler(logger));
  return app;
}

/** Listens on TTPUSH_METRICS_PORT (host: TTPUSH_HTTP_HOST); resolves with the server and its port. */
export async function listenMetrics(
  config: Config,
  metrics: ApiMetrics,
  logger: Logger,
  extraMetrics?: () => Promise<string>,
): Promise<{ server: Server; port: number }> {
  const server = createServer(createMetricsApp(config, metrics, logger, extraMetrics));
  server.on('clientError', onClientError);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.metrics.port, config.http.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ host: config.http.host, port }, 'metrics listening');
  return { server, port };
}
