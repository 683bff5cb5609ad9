/** GET /healthz (the process answers) and /readyz (Redis reachable, a worker connected to TeamTalk, db_proxy degraded or not); /metrics: metrics.ts. */
import { Router } from 'express';
import { degradedDbProxies } from '../health-report.ts';
import type { HealthReport } from '@ttpush/contract';
import type { MessageService } from '../message-service.ts';
import type { Logger } from 'pino';
import { isServiceUnavailable } from '../error-handler.ts';
import { locals } from '../locals.ts';
import { routeName } from '../request-context.ts';
import { methodNotAllowed } from '../routing.ts';

export interface HealthDeps {
  service: MessageService;
  logger: Logger;
}

/** Why the service is not ready; empty when it is. */
export function notReadyReasons(report: HealthReport): string[] {
  if (!report.redis) return ['redis is not reachable'];
  if (report.workers.length === 0) return ['no worker is alive'];
  if (!report.workers.some((w) => w.dbProxyReady && w.routeReady)) {
    return report.workers.map(
      (w) =>
        `worker ${w.id} is not connected to ${[!w.dbProxyReady && 'db_proxy_server', !w.routeReady && 'route_server'].filter(Boolean).join(' and ')}`,
    );
  }
  return [];
}

export function healthRouter(deps: HealthDeps): Router {
  const { service, logger } = deps;
  const router = Router();

  router
    .route('/healthz')
    .get(routeName('/healthz'), (_req, res) => {
      res.status(200).json({ status: 'ok' });
    })
    .all(routeName('/healthz'), methodNotAllowed(['GET']));

  router
    .route('/readyz')
    .get(routeName('/readyz'), async (_req, res) => {
      let reasons: string[];
      let workers = 0;
      let degraded: ReturnType<typeof degradedDbProxies> = [];
      try {
        const report = await service.health();
        reasons = notReadyReasons(report);
        workers = report.workers.filter((w) => w.dbProxyReady && w.routeReady).length;
        degraded = degradedDbProxies(report);
      } catch (err) {
        if (!isServiceUnavailable(err)) logger.error({ err, reqId: locals(res).requestId }, 'health check failed');
        reasons = [isServiceUnavailable(err) ? 'redis is not reachable' : 'the health check failed'];
      }
      // Degraded is still ready: messages keep being delivered, more slowly; the body says which server and why.
      const dbProxy = degraded.map((d) => ({ address: d.address, status: 'degraded', reason: d.reason }));
      if (reasons.length > 0)
        res.status(503).json({ status: 'not_ready', reasons, ...(dbProxy.length ? { db_proxy: dbProxy } : {}) });
      else if (dbProxy.length > 0)
        res.status(200).json({ status: 'degraded', redis: true, workers, db_proxy: dbProxy });
      else res.status(200).json({ status: 'ready', redis: true, workers });
    })
    .all(routeName('/readyz'), methodNotAllowed(['GET']));

  return router;
}
