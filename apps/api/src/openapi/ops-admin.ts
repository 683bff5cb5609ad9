/** The admin endpoints (routes/admin.ts) in the API reference, with the schemas their validation runs. */
import { z } from 'zod';
import type { ApiErrorCode } from '../errors.ts';
import {
  appNameParam,
  appView,
  auditQuerySchema,
  auditView,
  createAppSchema,
  createdKeyView,
  createKeySchema,
  keyIdParam,
  keysQuerySchema,
  keyView,
  patchAppSchema,
  rotateKeySchema,
} from '../tenants/admin-schemas.ts';
import { defineOperation, type BodySpec } from './registry.ts';

const json = (schema: z.ZodType, example?: unknown): BodySpec => ({
  contentType: 'application/json',
  schema,
  ...(example !== undefined && { example }),
});
const tag = 'Apps';
const AUTH: readonly ApiErrorCode[] = ['unauthorized', 'admin_disabled'];
const INPUT: readonly ApiErrorCode[] = [
  'invalid_json',
  'invalid_field',
  'missing_field',
  'unknown_field',
  'unsupported_media_type',
  'body_too_large',
];

defineOperation({
  method: 'post',
  path: '/v1/admin/apps',
  tag,
  summary: 'Create an app',
  description: 'Its name is its id: unique, public, used in logs and metrics. Audited.',
  auth: 'admin',
  body: json(createAppSchema, { name: 'marketing', rate_limit: 50, daily_quota: 100000, priority: 'normal' }),
  responses: { '201': { description: 'The app', body: json(appView) } },
  errors: [...AUTH, ...INPUT, 'app_exists', 'redis_unavailable'],
});

defineOperation({
  method: 'get',
  path: '/v1/admin/apps',
  tag,
  summary: 'List apps',
  auth: 'admin',
  responses: { '200': { description: 'Every app', body: json(z.object({ apps: z.array(appView) })) } },
  errors: [...AUTH, 'redis_unavailable'],
});

defineOperation({
  method: 'get',
  path: '/v1/admin/apps/{name}',
  tag,
  summary: 'Read an app',
  auth: 'admin',
  params: appNameParam,
  responses: { '200': { description: 'The app', body: json(appView) } },
  errors: [...AUTH, 'invalid_field', 'app_not_found', 'redis_unavailable'],
});

defineOperation({
  method: 'patch',
  path: '/v1/admin/apps/{name}',
  tag,
  summary: "Change an app's rate limit, daily quota, priority or disabled flag",
  description: 'Applies at once on every api process (their caches are told). Audited.',
  auth: 'admin',
  params: appNameParam,
  body: json(patchAppSchema, { rate_limit: 100, disabled: false }),
  responses: { '200': { description: 'The app after the change', body: json(appView) } },
  errors: [...AUTH, ...INPUT, 'app_not_found', 'redis_unavailable'],
});

defineOperation({
  method: 'post',
  path: '/v1/admin/apps/{name}/keys',
  tag,
  summary: 'Create a key for an app',
  description: 'The answer holds the secret, shown this once; only its SHA-256 is stored. Audited.',
  auth: 'admin',
  params: appNameParam,
  body: json(createKeySchema, { senders: [1001], groups: [7], batches: true }),
  responses: { '201': { description: 'The key and its secret', body: json(createdKeyView) } },
  errors: [...AUTH, ...INPUT, 'app_not_found', 'redis_unavailable'],
});

defineOperation({
  method: 'get',
  path: '/v1/admin/apps/{name}/keys',
  tag,
  summary: "List an app's keys (without secrets)",
  auth: 'admin',
  params: appNameParam,
  responses: { '200': { description: 'The keys', body: json(z.object({ keys: z.array(keyView) })) } },
  errors: [...AUTH, 'invalid_field', 'app_not_found', 'redis_unavailable'],
});

defineOperation({
  method: 'get',
  path: '/v1/admin/keys',
  tag,
  summary: 'List the keys of every app, or of one (?app=)',
  auth: 'admin',
  query: keysQuerySchema,
  responses: { '200': { description: 'The keys', body: json(z.object({ keys: z.array(keyView) })) } },
  errors: [...AUTH, 'invalid_field', 'unknown_field', 'app_not_found', 'redis_unavailable'],
});

defineOperation({
  method: 'get',
  path: '/v1/admin/keys/{id}',
  tag,
  summary: 'Read a key (without its secret)',
  auth: 'admin',
  params: keyIdParam,
  responses: { '200': { description: 'The key', body: json(keyView) } },
  errors: [...AUTH, 'invalid_field', 'key_not_found', 'redis_unavailable'],
});

defineOperation({
  method: 'delete',
  path: '/v1/admin/keys/{id}',
  tag,
  summary: 'Revoke a key',
  description: 'Refused at once on every api process (a Redis notice drops their cached copy). Audited.',
  auth: 'admin',
  params: keyIdParam,
  responses: { '200': { description: 'The key, with revoked_at', body: json(keyView) } },
  errors: [...AUTH, 'invalid_field', 'key_not_found', 'redis_unavailable'],
});

defineOperation({
  method: 'post',
  path: '/v1/admin/keys/{id}/rotate',
  tag,
  summary: 'Rotate a key: a new key with the same scopes; the old one revoked now or after grace_seconds',
  auth: 'admin',
  params: keyIdParam,
  body: json(rotateKeySchema, { grace_seconds: 3600 }),
  responses: {
    '201': {
      description: 'The new key and its secret (shown once), and the old key with its revoked_at',
      body: json(createdKeyView.extend({ previous: keyView })),
    },
  },
  errors: [...AUTH, ...INPUT, 'key_not_found', 'key_revoked', 'redis_unavailable'],
});

defineOperation({
  method: 'get',
  path: '/v1/admin/audit',
  tag,
  summary: 'The audit log of admin changes, newest first, paged',
  description: 'With ?app= a page may be short; go on with next_cursor until it is null.',
  auth: 'admin',
  query: auditQuerySchema,
  responses: { '200': { description: 'A page of entries', body: json(auditView) } },
  errors: [...AUTH, 'invalid_field', 'unknown_field', 'redis_unavailable'],
});
