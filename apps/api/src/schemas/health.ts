/** GET /healthz, /readyz and /metrics. */
import { z } from 'zod';

export const Healthy = z
  .object({ status: z.literal('ok') })
  .strict()
  .meta({ id: 'Healthy' });

export const DegradedDbProxy = z
  .object({
    address: z.string().meta({ description: 'The db_proxy_server, host:port.' }),
    status: z.literal('degraded'),
    reason: z.string().meta({
      description:
        'Why: it answers some requests and leaves others unanswered (likely a parked db_proxy_server thread; restart it).',
    }),
  })
  .strict()
  .meta({ id: 'DegradedDbProxy' });

export const Ready = z
  .object({
    status: z.enum(['ready', 'degraded']).meta({
      description: '`degraded`: ready, but a db_proxy_server leaves requests unanswered (see `db_proxy`).',
    }),
    redis: z.literal(true),
    workers: z.number().int().meta({ description: 'Workers connected to db_proxy_server and route_server.' }),
    db_proxy: z.array(DegradedDbProxy).optional().meta({ description: 'The degraded db_proxy_servers, when any.' }),
  })
  .strict()
  .meta({ id: 'Ready' });

export const NotReady = z
  .object({
    status: z.literal('not_ready'),
    reasons: z.array(z.string()),
    db_proxy: z.array(DegradedDbProxy).optional(),
  })
  .strict()
  .meta({ id: 'NotReady' });

export const MetricsText = z.string().meta({ description: 'Prometheus text exposition format 0.0.4.' });
