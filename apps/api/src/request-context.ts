/**
 * Per-request context: the request id (X-Request-Id when sane, else a new one) echoed in the
 * response, and one log line plus one http_requests_total count and duration when the request ends: at info, but
 * at debug for the probes (/healthz, /readyz) that orchestrators and load balancers call every few seconds.
 */
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { ApiMetrics } from './metrics.ts';
import { locals } from './locals.ts';

// Probes answered every few seconds: their lines at info would bury the requests people look for.
const PROBE_ROUTES = new Set(['/healthz', '/readyz']);

// An id a proxy or caller chose is kept only if it is safe to log and echo.
const SANE_REQUEST_ID = /^[A-Za-z0-9._:/+=-]{1,128}$/;

export function requestContext(logger: Logger, metrics: ApiMetrics): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader('X-Request-Id', requestId);
    let done = false;
    const l = locals(res);
    l.requestId = requestId;
    l.route = 'unmatched';
    l.complete = () => {
      if (done) return;
      done = true;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // Closed before an answer was written: the client went away (499, as nginx logs it), whatever statusCode says.
      const status = res.headersSent || res.writableFinished ? res.statusCode : 499;
      metrics.httpRequests.inc({ route: l.route, status: String(status) });
      if (l.app !== undefined) metrics.appRequests.inc({ app: l.app.name, status: String(status) });
      metrics.httpDuration.observe({ route: l.route }, ms / 1000);
      logger[PROBE_ROUTES.has(l.route) ? 'debug' : 'info'](
        {
          reqId: requestId,
          method: req.method,
          path: req.originalUrl.split('?')[0],
          status,
          ms: Math.round(ms * 10) / 10,
          app: l.app?.name ?? null,
          // The key's public id (`key_...` or `config:<name>`), never the secret.
          keyId: l.app?.keyId ?? null,
        },
        'request',
      );
    };
    res.once('finish', l.complete);
    res.once('close', l.complete);
    next();
  };
}

/** Names the route for logs and metrics (the template, never the raw path, to bound label values). */
export function routeName(name: string): RequestHandler {
  return (_req, res, next) => {
    locals(res).route = name;
    next();
  };
}
