/**
 * The admin endpoints' inputs as zod schemas: the routes validate with them and the OpenAPI document
 * (openapi/ops-admin.ts) describes them, so the two cannot disagree.
 */
import { z } from 'zod';
import { ApiError } from '../errors.ts';
import { KEY_ID } from '@ttpush/store';

// TeamTalk ids are uint32 and 0 means "none" on the wire: a scope of id 0 could never be used.
const MAX_ID = 4294967295;
/** Lower case, digits, '_', '.', '-': safe in Redis keys, log lines, metric labels and URLs. */
export const APP_NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
export const MAX_GRACE_SECONDS = 7 * 86_400;
export const MAX_AUDIT_LIMIT = 1000;

const appName = z.string().regex(APP_NAME).describe('lower-case letters, digits, "_", "." or "-"; at most 63');
const rateLimit = z.number().gt(0).max(10_000_000).nullable().describe('messages per second; null: no limit');
const dailyQuota = z.number().int().min(1).max(1e12).nullable().describe('messages per UTC day; null: no quota');
const priority = z.enum(['high', 'normal', 'low']);
const idScope = z
  .union([z.literal('*'), z.array(z.number().int().min(1).max(MAX_ID)).max(10_000)])
  .describe('a list of ids, or "*" for every id');

export const createAppSchema = z.strictObject({
  name: appName,
  rate_limit: rateLimit.optional(),
  daily_quota: dailyQuota.optional(),
  priority: priority.optional(),
});

export const patchAppSchema = z
  .strictObject({
    rate_limit: rateLimit.optional(),
    daily_quota: dailyQuota.optional(),
    priority: priority.optional(),
    disabled: z.boolean().optional(),
  })
  .refine((v) => Object.keys(v).length > 0, {
    message: 'give at least one of rate_limit, daily_quota, priority, disabled',
  });

export const createKeySchema = z.strictObject({
  senders: idScope.describe('sender user ids the key may send as, or "*"'),
  groups: idScope.default([]).describe('groups the key may send to and manage, or "*"; default none'),
  batches: z.boolean().default(false),
  manage_groups: z.boolean().default(false),
  read_all: z.boolean().default(false),
  manage_webhooks: z
    .boolean()
    .default(false)
    .describe("may manage and read the app's webhook endpoints, deliveries and callback secret (read_all may too)"),
});

export const rotateKeySchema = z.strictObject({
  grace_seconds: z
    .number()
    .int()
    .min(0)
    .max(MAX_GRACE_SECONDS)
    .default(0)
    .describe('how long the old key keeps working; 0: revoked now'),
});

export const auditQuerySchema = z.strictObject({
  app: appName.optional(),
  cursor: z
    .string()
    .regex(/^\d{1,20}-\d{1,20}$/)
    .optional(),
  limit: z.coerce.number().int().min(1).max(MAX_AUDIT_LIMIT).default(100),
});

export const keysQuerySchema = z.strictObject({ app: appName.optional() });

export const appNameParam = z.strictObject({ name: appName });
export const keyIdParam = z.strictObject({ id: z.string().regex(KEY_ID) });

const scopesView = z.object({
  senders: idScope,
  groups: idScope,
  batches: z.boolean(),
  manage_groups: z.boolean(),
  read_all: z.boolean(),
  manage_webhooks: z.boolean(),
});

export const appView = z.object({
  name: z.string(),
  created_at: z.string(),
  rate_limit: z.number().nullable(),
  daily_quota: z.number().nullable(),
  priority,
  disabled: z.boolean(),
});

export const keyView = z.object({
  id: z.string(),
  app: z.string(),
  scopes: scopesView,
  created_at: z.string(),
  last_used_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
  rotated_from: z.string().nullable(),
});

export const createdKeyView = z.object({
  key: keyView,
  secret: z.string().describe('ttpk_<key id>_<secret>: shown this once, never again'),
});

export const auditView = z.object({
  entries: z.array(
    z.object({
      id: z.string(),
      at: z.string(),
      who: z.literal('admin'),
      action: z.string(),
      app: z.string().nullable(),
      key_id: z.string().nullable(),
      changes: z.record(z.string(), z.unknown()),
      request_id: z.string().nullable(),
    }),
  ),
  next_cursor: z.string().nullable(),
});

function at(value: unknown, path: readonly PropertyKey[]): unknown {
  let v = value;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

/**
 * Validates `value` with `schema`, or throws the ApiError naming the first wrong field; `hint` is the fix.
 * `where` says what is validated ('the body', 'the query').
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
  hint: string,
  where = 'the body',
): z.output<S> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ApiError('invalid_json', `${where} must be a JSON object: ${hint}`);
  }
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    throw new ApiError('unknown_field', `${key} is not a known field of ${where}: ${hint}`, key);
  }
  const field = issue.path.map(String).join('.');
  if (field === '') throw new ApiError('invalid_field', `${where}: ${issue.message}: ${hint}`);
  if (at(value, issue.path) === undefined) {
    throw new ApiError('missing_field', `${field} is missing: ${hint}`, field);
  }
  throw new ApiError('invalid_field', `${field} is not valid (${issue.message}): ${hint}`, field);
}
