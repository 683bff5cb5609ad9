/** GET /healthz, /readyz and /metrics. */
import { z } from 'zod';

export const Healthy = z
  .object({ status: z.literal('ok') })
  .strict()
  .meta({ id: 'Healthy' });

export const Ready = z
  .object({
    status: z.literal('ready'),
    redis: z.literal(true),
    workers: z.number().int().meta({ description: 'Workers connected to db_proxy_server and route_server.' }),
  })
  .strict()
  .meta({ id: 'Ready' });

export const NotReady = z
  .object({ status: z.literal('not_ready'), reasons: z.array(z.string()) })
  .strict()
  .meta({ id: 'NotReady' });

export const MetricsText = z.string().meta({ description: 'Prometheus text exposition format 0.0.4.' });
