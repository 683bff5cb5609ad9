/**
 * GET /metrics: Prometheus text of the api and the workers' counters (read from Redis). It names tenant apps, hosts and
 * TeamTalk addresses, so an operator can close it: TTPUSH_METRICS_TOKEN requires `Authorization: Bearer <token>`
 * (compared as SHA-256 digests in constant time; 401 without), and TTPUSH_METRICS_PORT moves it to a listener of its
 * own (metrics-server.ts), off the API port.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Router, type RequestHandler } from 'express';
import { register as defaultRegistry } from 'prom-client';
import { ApiError } from '../errors.ts';
import type { ApiMetrics } from '../metrics.ts';
import { routeName } from '../request-context.ts';
import { methodNotAllowed } from '../routing.ts';

export interface MetricsDeps {
  metrics: ApiMetrics;
  extraMetrics?: (() => Promise<string>) | undefined;
  /** TTPUSH_METRICS_TOKEN; undefined: no token needed. */
  token: string | undefined;
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Requires the metrics token when one is configured. */
export function metricsTokenAuth(token: string | undefined): RequestHandler {
  const expected = token === undefined ? undefined : digest(token);
  return (req, _res, next) => {
    if (expected === undefined) return next();
    const m = BEARER.exec(req.headers.authorization ?? '');
    if (m && timingSafeEqual(digest(m[1]!), expected)) return next();
    throw new ApiError(
      'unauthorized',
      '/metrics needs the metrics token: send "Authorization: Bearer <TTPUSH_METRICS_TOKEN>" (Prometheus: authorization.credentials_file in the scrape config)',
      null,
      { 'WWW-Authenticate': 'Bearer' },
    );
  };
}

export function metricsRouter(deps: MetricsDeps): Router {
  const { metrics } = deps;
  const router = Router();
  router
    .route('/metrics')
    .get(routeName('/metrics'), metricsTokenAuth(deps.token), async (_req, res) => {
      const registries = metrics.registry === defaultRegistry ? [defaultRegistry] : [defaultRegistry, metrics.registry];
      const texts = await Promise.all(registries.map((r) => r.metrics()));
      if (deps.extraMetrics) texts.push(await deps.extraMetrics().catch(() => ''));
      res
        .status(200)
        .type(metrics.registry.contentType)
        .send(texts.filter((t) => t.trim().length > 0).join('\n'));
    })
    .all(routeName('/metrics'), methodNotAllowed(['GET']));
  return router;
}
