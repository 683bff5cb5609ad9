/** The API reference of /healthz, /readyz, /metrics (routes/health.ts) and of the reference itself (routes/docs.ts). */
import { z } from 'zod';
import { Healthy, MetricsText, NotReady, Ready } from '../schemas/health.ts';
import { defineOperation } from './registry.ts';
import { json } from './op-parts.ts';

defineOperation({
  method: 'get',
  path: '/healthz',
  tag: 'Operations',
  operationId: 'healthz',
  summary: 'The process answers (liveness)',
  auth: 'none',
  responses: { '200': { description: 'Alive.', body: json(Healthy) } },
});

defineOperation({
  method: 'get',
  path: '/readyz',
  tag: 'Operations',
  operationId: 'readyz',
  summary: 'Redis is reachable and a worker is connected to TeamTalk (readiness)',
  auth: 'none',
  responses: {
    '200': { description: 'Ready.', body: json(Ready) },
    '503': { description: 'Not ready, with the reasons.', body: json(NotReady) },
  },
});

defineOperation({
  method: 'get',
  path: '/metrics',
  tag: 'Operations',
  operationId: 'metrics',
  summary: "Prometheus metrics of the API and the workers' counters",
  description:
    'With TTPUSH_METRICS_TOKEN set, only with "Authorization: Bearer <token>" (401 otherwise). With TTPUSH_METRICS_PORT set, served on that port only (this port answers 404).',
  auth: 'metrics',
  responses: { '200': { description: 'Metrics.', body: { contentType: 'text/plain', schema: MetricsText } } },
  errors: ['unauthorized', 'not_found'],
});

defineOperation({
  method: 'get',
  path: '/openapi.json',
  tag: 'Operations',
  operationId: 'openapi',
  summary: 'This API reference as an OpenAPI 3.1 document',
  auth: 'none',
  responses: {
    '200': {
      description: 'The OpenAPI document (also committed as docs/openapi.json).',
      body: { contentType: 'application/json', schema: z.record(z.string(), z.unknown()) },
    },
  },
});

defineOperation({
  method: 'get',
  path: '/docs',
  tag: 'Operations',
  operationId: 'docs',
  summary: 'This API reference as a page to read (Swagger UI)',
  auth: 'none',
  responses: {
    '200': { description: 'The reference page.', body: { contentType: 'text/html', schema: z.string() } },
  },
});
