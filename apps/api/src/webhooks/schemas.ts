/**
 * The request and response shapes of /v1/webhooks, as zod schemas: the routes validate with them and the OpenAPI
 * operations (openapi/ops-webhooks.ts) describe them, so the two cannot disagree.
 */
import { z } from 'zod';
import { DELIVERY_STATUSES, WEBHOOK_EVENTS } from '@ttpush/contract';
import { ApiError } from '../errors.ts';

export const URL_MAX = 2048;
/** Longest grace for a rotated secret: 7 days. */
export const GRACE_MAX_S = 7 * 86_400;
export const DEFAULT_GRACE_S = 86_400;

const url = z.string().min(1).max(URL_MAX);
const events = z.array(z.enum(WEBHOOK_EVENTS)).min(1).max(WEBHOOK_EVENTS.length);
const description = z.string().max(500);

export const createEndpointBody = z.strictObject({ url, events, description: description.optional() }).meta({
  example: {
    url: 'https://crm.example.com/ttpush/events',
    events: ['message.failed', 'batch.completed'],
    description: 'CRM delivery reports',
  },
});
export const patchEndpointBody = z
  .strictObject({
    url: url.optional(),
    events: events.optional(),
    enabled: z.boolean().optional(),
    description: description.nullable().optional(),
  })
  .meta({ example: { events: ['message.sent', 'message.failed'], enabled: true } });
export const rotateBody = z
  .strictObject({ grace_seconds: z.number().int().min(0).max(GRACE_MAX_S).optional() })
  .meta({ example: { grace_seconds: 3600 } });
export const deliveriesQuery = z.strictObject({
  endpoint: z.string().max(100).optional(),
  status: z.enum(DELIVERY_STATUSES).optional(),
  limit: z
    .string()
    .regex(/^\d{1,3}$/)
    .transform(Number)
    .pipe(z.number().int().min(1).max(200))
    .optional(),
  cursor: z
    .string()
    .regex(/^\d{1,9}$/)
    .transform(Number)
    .optional(),
});
export const endpointParams = z.object({ id: z.string() });

const iso = z.string().describe('RFC 3339');
export const endpointView = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENTS)),
  description: z.string().nullable(),
  enabled: z.boolean(),
  disabled_reason: z.string().nullable(),
  disabled_at: iso.nullable(),
  failing_since: iso.nullable(),
  previous_secret_expires_at: iso.nullable(),
  created_at: iso,
  updated_at: iso,
});
export const endpointWithSecret = endpointView.extend({
  secret: z.string().describe('whsec_<base64>: shown once, keep it to verify signatures'),
});
export const endpointList = z.object({ endpoints: z.array(endpointView) });
const eventType = z.enum([...WEBHOOK_EVENTS, 'endpoint.disabled']);
export const deliveryView = z.object({
  id: z.string(),
  event_id: z.string().describe('the webhook-id header: deduplicate on it'),
  event_type: eventType,
  endpoint: z.string().nullable().describe('null: a callback_url'),
  url: z.string(),
  status: z.enum(DELIVERY_STATUSES),
  attempts: z.number().int(),
  next_attempt_at: iso.nullable(),
  created_at: iso,
  updated_at: iso,
  last_status: z.number().int().nullable(),
  last_error: z.string().nullable(),
});
export const deliveryDetail = deliveryView.extend({
  payload: z.object({ type: eventType, timestamp: iso, data: z.unknown() }),
  attempt_log: z.array(
    z.object({
      at: iso,
      status: z.number().int().nullable(),
      error: z.string().nullable(),
      duration_ms: z.number().int(),
    }),
  ),
});
export const deliveryPage = z.object({ deliveries: z.array(deliveryView), next_cursor: z.string().nullable() });
export const redeliveredCount = z.object({ redelivered: z.number().int() });
export const callbackSecretView = z.object({
  secret: z.string().optional().describe('shown when created or rotated only'),
  created_at: iso,
  previous_secret_expires_at: iso.nullable(),
});

const FIX: Record<string, string> = {
  url: "give the receiver's https:// (or http://) URL",
  events: `give a non-empty list of ${WEBHOOK_EVENTS.map((e) => `"${e}"`).join(', ')}`,
  description: 'give a text of at most 500 characters',
  enabled: 'give true or false',
  grace_seconds: `give whole seconds from 0 to ${GRACE_MAX_S}`,
  endpoint: 'give an endpoint id',
  status: `give one of ${DELIVERY_STATUSES.join(', ')}`,
  limit: 'give a whole number from 1 to 200',
  cursor: 'pass the next_cursor of the previous page',
};

/** Parses with `schema`, or throws the ApiError naming the first wrong field and its fix. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what = 'the request body'): z.output<S> {
  if (value === undefined || value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ApiError('invalid_json', `${what} must be a JSON object`);
  }
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const known = Object.keys(FIX).filter((k) => (schema as unknown as z.ZodObject).shape?.[k] !== undefined);
    throw new ApiError(
      'unknown_field',
      `${key} is not a known field: remove it (the fields are ${known.join(', ')})`,
      key,
    );
  }
  const field = issue.path.map(String).join('.') || null;
  const top = String(issue.path[0] ?? '');
  const missing = issue.code === 'invalid_type' && (value as Record<string, unknown>)[top] === undefined;
  throw new ApiError(
    missing ? 'missing_field' : 'invalid_field',
    `${field ?? what} ${missing ? 'is missing' : `is not valid (${issue.message})`}: ${FIX[top] ?? 'see the API reference'}`,
    field,
  );
}
