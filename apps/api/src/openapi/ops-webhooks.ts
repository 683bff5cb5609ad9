/** The /v1/webhooks operations for the API reference, with the schemas the routes validate with. */
import { z } from 'zod';
import { defineOperation, type ResponseSpec } from './registry.ts';
import {
  callbackSecretView,
  createEndpointBody,
  deliveriesQuery,
  deliveryDetail,
  deliveryPage,
  endpointList,
  endpointView,
  endpointWithSecret,
  patchEndpointBody,
  redeliveredCount,
  rotateBody,
} from '../webhooks/schemas.ts';

const tag = 'Webhooks';
const json = (schema: z.ZodType, description?: string) => ({
  contentType: 'application/json',
  schema,
  ...(description && { description }),
  ...(schema.meta()?.example !== undefined && { example: schema.meta()?.example }),
});
const ok = (description: string, schema: z.ZodType): ResponseSpec => ({ description, body: json(schema) });
const endpointParams = z.object({ id: z.string().describe('endpoint id, ep_…') });
const deliveryParams = z.object({ id: z.string().describe('delivery id, whd_…') });

defineOperation({
  method: 'post',
  path: '/v1/webhooks/endpoints',
  tag,
  auth: 'app',
  summary: 'Create an endpoint',
  description:
    'Every /v1/webhooks route needs a key with the manage_webhooks scope (or read_all): endpoints, deliveries and the callback secret are app-wide (403 forbidden_scope otherwise; a callback_url on a send needs neither). ' +
    'Subscribes a URL to events. The answer carries the signing secret (whsec_…) once. The URL is refused when it ' +
    'resolves to a loopback, private or link-local address not allowed by TTPUSH_WEBHOOK_ALLOWED_NETWORKS.',
  body: json(createEndpointBody),
  responses: { '201': ok('the endpoint, with its secret shown once', endpointWithSecret) },
  errors: [
    'invalid_json',
    'invalid_field',
    'missing_field',
    'unknown_field',
    'webhook_url_refused',
    'too_many_endpoints',
    'unauthorized',
    'forbidden_scope',
    'unsupported_media_type',
    'redis_unavailable',
  ],
});
defineOperation({
  method: 'get',
  path: '/v1/webhooks/endpoints',
  tag,
  auth: 'app',
  summary: "List the app's endpoints",
  responses: { '200': ok('the endpoints, oldest first', endpointList) },
  errors: ['unauthorized', 'forbidden_scope', 'redis_unavailable'],
});
defineOperation({
  method: 'get',
  path: '/v1/webhooks/endpoints/{id}',
  tag,
  auth: 'app',
  summary: 'Read an endpoint',
  description: 'Shows whether it is enabled, and why ttpush disabled it if it did.',
  params: endpointParams,
  responses: { '200': ok('the endpoint', endpointView) },
  errors: ['not_found', 'unauthorized', 'forbidden_scope', 'redis_unavailable'],
});
defineOperation({
  method: 'patch',
  path: '/v1/webhooks/endpoints/{id}',
  tag,
  auth: 'app',
  summary: 'Change an endpoint (url, events, enabled, description)',
  description: 'enabled: true re-enables an endpoint ttpush disabled and restarts its failure count.',
  params: endpointParams,
  body: json(patchEndpointBody),
  responses: { '200': ok('the endpoint', endpointView) },
  errors: [
    'invalid_json',
    'invalid_field',
    'unknown_field',
    'webhook_url_refused',
    'not_found',
    'unauthorized',
    'forbidden_scope',
    'unsupported_media_type',
    'redis_unavailable',
  ],
});
defineOperation({
  method: 'delete',
  path: '/v1/webhooks/endpoints/{id}',
  tag,
  auth: 'app',
  summary: 'Delete an endpoint',
  description: 'Its pending deliveries end as dead.',
  params: endpointParams,
  responses: { '204': { description: 'deleted' } },
  errors: ['not_found', 'unauthorized', 'forbidden_scope', 'redis_unavailable'],
});
defineOperation({
  method: 'post',
  path: '/v1/webhooks/endpoints/{id}/rotate-secret',
  tag,
  auth: 'app',
  summary: "Rotate an endpoint's secret",
  description:
    'A new secret signs from now on; the previous one keeps signing too for grace_seconds (default 86400), so ' +
    'webhook-signature carries two v1 signatures separated by a space until then.',
  params: endpointParams,
  body: json(rotateBody),
  responses: { '200': ok('the endpoint, with its new secret shown once', endpointWithSecret) },
  errors: [
    'invalid_json',
    'invalid_field',
    'unknown_field',
    'not_found',
    'unauthorized',
    'forbidden_scope',
    'redis_unavailable',
  ],
});
defineOperation({
  method: 'post',
  path: '/v1/webhooks/endpoints/{id}/redeliver-failed',
  tag,
  auth: 'app',
  summary: 'Redeliver every dead delivery of an endpoint',
  params: endpointParams,
  responses: { '202': ok('how many deliveries are due again', redeliveredCount) },
  errors: ['not_found', 'unauthorized', 'forbidden_scope', 'redis_unavailable'],
});
defineOperation({
  method: 'get',
  path: '/v1/webhooks/deliveries',
  tag,
  auth: 'app',
  summary: "List the app's deliveries, newest first",
  query: deliveriesQuery,
  responses: { '200': ok('a page of deliveries; next_cursor fetches the next', deliveryPage) },
  errors: ['invalid_field', 'unknown_field', 'not_found', 'unauthorized', 'forbidden_scope', 'redis_unavailable'],
});
defineOperation({
  method: 'get',
  path: '/v1/webhooks/deliveries/{id}',
  tag,
  auth: 'app',
  summary: 'Read a delivery with its payload and attempts',
  params: deliveryParams,
  responses: { '200': ok('the delivery', deliveryDetail) },
  errors: ['not_found', 'unauthorized', 'forbidden_scope', 'redis_unavailable'],
});
defineOperation({
  method: 'post',
  path: '/v1/webhooks/deliveries/{id}/redeliver',
  tag,
  auth: 'app',
  summary: 'Redeliver one delivery',
  description: 'Due at once with a fresh retry schedule; the event keeps its id (webhook-id).',
  params: deliveryParams,
  responses: { '202': ok('the delivery, pending again', deliveryDetail) },
  errors: ['not_found', 'unauthorized', 'forbidden_scope', 'redis_unavailable'],
});
defineOperation({
  method: 'get',
  path: '/v1/webhooks/callback-secret',
  tag,
  auth: 'app',
  summary: "The app's callback secret (signs callback_url requests)",
  description: 'Created and shown on the first call (201); later calls (200) show only when it was created.',
  responses: {
    '200': ok('the secret exists; it is not shown again', callbackSecretView),
    '201': ok('created: the secret is shown once', callbackSecretView),
  },
  errors: ['unauthorized', 'forbidden_scope', 'redis_unavailable'],
});
defineOperation({
  method: 'post',
  path: '/v1/webhooks/callback-secret/rotate',
  tag,
  auth: 'app',
  summary: "Rotate the app's callback secret",
  description: 'The new secret is shown once; the previous one keeps signing for grace_seconds (default 86400).',
  body: json(rotateBody),
  responses: {
    '200': ok('the new secret, shown once', callbackSecretView),
    '201': ok('there was none: created and shown once', callbackSecretView),
  },
  errors: ['invalid_json', 'invalid_field', 'unknown_field', 'unauthorized', 'forbidden_scope', 'redis_unavailable'],
});
