/**
 * /v1/admin: apps, their keys, and the audit log of changes (issue 6). Every route needs the admin key
 * (TTPUSH_ADMIN_KEY). A key's secret is in the answer that creates it (POST .../keys, .../rotate) and
 * nowhere else: not in a later answer, a log line or the audit log. Every change is appended to the
 * audit stream and logged once, with the request id.
 */
import { Router, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { adminAuth, type AdminKeyCheck } from '../admin-auth.ts';
import { ApiError } from '../errors.ts';
import { jsonBody, requireJsonType } from '../json-body.ts';
import { locals } from '../locals.ts';
import type { ApiMetrics } from '../metrics.ts';
import { routeName } from '../request-context.ts';
import { methodNotAllowed } from '../routing.ts';
import {
  appNameParam,
  auditQuerySchema,
  createAppSchema,
  createKeySchema,
  keyIdParam,
  keysQuerySchema,
  parseInput,
  patchAppSchema,
  rotateKeySchema,
} from '../tenants/admin-schemas.ts';
import { TenantError, appNotFound, keyNotFound, type KeyScopes, type TenantStore } from '@ttpush/store';
import '../openapi/ops-admin.ts';

export interface AdminDeps {
  /** Absent when the api runs without Redis (tests): the routes exist and answer 503. */
  store: TenantStore | undefined;
  check: AdminKeyCheck;
  logger: Logger;
  /** Names taken by configuration keys (and 'dev'): a tenant app may not share one (its limits and metrics would). */
  reservedNames: ReadonlySet<string>;
  bodyLimitBytes: number;
  metrics: ApiMetrics;
}

const APP_HINT = 'e.g. {"name": "crm", "rate_limit": 50, "daily_quota": 100000, "priority": "normal"}';
const PATCH_HINT = 'give any of rate_limit (msg/s or null), daily_quota (or null), priority, disabled';
const KEY_HINT =
  'e.g. {"senders": [1001, 1002] or "*", "groups": [7] or "*", "batches": false, "manage_groups": false, "read_all": false, "manage_webhooks": false}';
const ROTATE_HINT = 'e.g. {"grace_seconds": 3600}, or {} to revoke the old key now';

/** The store's refusals as API errors (their codes are in ERROR_STATUS). */
function mapped(err: unknown): unknown {
  return err instanceof TenantError ? new ApiError(err.code, err.message) : err;
}

export function adminRouter(deps: AdminDeps): Router {
  const { logger } = deps;
  const s = (): TenantStore => {
    if (deps.store !== undefined) return deps.store;
    throw new ApiError(
      'redis_unavailable',
      'apps and keys are kept in Redis, and this api runs without it: set TTPUSH_REDIS_URL',
    );
  };
  const router = Router();
  const auth = adminAuth(deps.check);
  const body = [requireJsonType(), jsonBody(deps.bodyLimitBytes)];

  /** Appends one audit entry and logs it; the entry and the line carry ids and changed fields, never a secret. */
  async function audit(
    res: Response,
    action: string,
    app: string | null,
    keyId: string | null,
    changes: Record<string, unknown>,
  ): Promise<void> {
    const requestId = locals(res).requestId;
    await s().appendAudit({ action, app, key_id: keyId, changes, request_id: requestId });
    deps.metrics.adminChanges.inc({ action });
    logger.info({ reqId: requestId, who: 'admin', action, app, keyId, changes }, 'admin change');
  }

  const handle =
    (fn: (req: Request, res: Response) => Promise<void>) =>
    async (req: Request, res: Response): Promise<void> => {
      try {
        await fn(req, res);
      } catch (err) {
        throw mapped(err);
      }
    };

  const appName = (req: Request) =>
    parseInput(appNameParam, { name: req.params.name }, 'app names use a-z, 0-9, "_", "." and "-"', 'the path').name;
  const keyId = (req: Request) =>
    parseInput(keyIdParam, { id: req.params.id }, 'key ids look like key_0123456789abcdef', 'the path').id;

  router
    .route('/v1/admin/apps')
    .post(
      routeName('/v1/admin/apps'),
      auth,
      ...body,
      handle(async (req, res) => {
        const input = parseInput(createAppSchema, req.body, APP_HINT);
        if (deps.reservedNames.has(input.name)) {
          throw new ApiError(
            'app_exists',
            `'${input.name}' is the name of a key from configuration (app keys file or the development key): choose another name`,
            'name',
          );
        }
        const app = await s().createApp(input);
        const { name: _name, ...changes } = input;
        await audit(res, 'app.create', app.name, null, changes);
        res.status(201).set('Location', `/v1/admin/apps/${app.name}`).json(app);
      }),
    )
    .get(
      routeName('/v1/admin/apps'),
      auth,
      handle(async (_req, res) => {
        res.status(200).json({ apps: await s().listApps() });
      }),
    )
    .all(routeName('/v1/admin/apps'), methodNotAllowed(['GET', 'POST']));

  router
    .route('/v1/admin/apps/:name')
    .get(
      routeName('/v1/admin/apps/:name'),
      auth,
      handle(async (req, res) => {
        const name = appName(req);
        const app = await s().getApp(name);
        if (app === null) throw appNotFound(name);
        res.status(200).json(app);
      }),
    )
    .patch(
      routeName('/v1/admin/apps/:name'),
      auth,
      ...body,
      handle(async (req, res) => {
        const name = appName(req);
        const patch = parseInput(patchAppSchema, req.body, PATCH_HINT);
        const app = await s().updateApp(name, patch);
        // Every api process drops its cached keys of this app: a new limit or `disabled` applies at once.
        await s().announce(`app:${name}`);
        await audit(res, 'app.update', name, null, patch);
        res.status(200).json(app);
      }),
    )
    .all(routeName('/v1/admin/apps/:name'), methodNotAllowed(['GET', 'PATCH']));

  router
    .route('/v1/admin/apps/:name/keys')
    .post(
      routeName('/v1/admin/apps/:name/keys'),
      auth,
      ...body,
      handle(async (req, res) => {
        const name = appName(req);
        const scopes: KeyScopes = parseInput(createKeySchema, req.body, KEY_HINT);
        const created = await s().createKey(name, scopes);
        await audit(res, 'key.create', name, created.key.id, { scopes });
        res.status(201).set('Location', `/v1/admin/keys/${created.key.id}`).json(created);
      }),
    )
    .get(
      routeName('/v1/admin/apps/:name/keys'),
      auth,
      handle(async (req, res) => {
        const name = appName(req);
        if ((await s().getApp(name)) === null) throw appNotFound(name);
        res.status(200).json({ keys: await s().listKeys(name) });
      }),
    )
    .all(routeName('/v1/admin/apps/:name/keys'), methodNotAllowed(['GET', 'POST']));

  router
    .route('/v1/admin/keys')
    .get(
      routeName('/v1/admin/keys'),
      auth,
      handle(async (req, res) => {
        const q = parseInput(keysQuerySchema, { ...req.query }, 'filter with ?app=NAME', 'the query');
        if (q.app !== undefined && (await s().getApp(q.app)) === null) throw appNotFound(q.app);
        res.status(200).json({ keys: await s().listKeys(q.app) });
      }),
    )
    .all(routeName('/v1/admin/keys'), methodNotAllowed(['GET']));

  router
    .route('/v1/admin/keys/:id')
    .get(
      routeName('/v1/admin/keys/:id'),
      auth,
      handle(async (req, res) => {
        const id = keyId(req);
        const key = await s().getKey(id);
        if (key === null) throw keyNotFound(id);
        const { hash: _hash, ...view } = key;
        res.status(200).json(view);
      }),
    )
    .delete(
      routeName('/v1/admin/keys/:id'),
      auth,
      handle(async (req, res) => {
        const id = keyId(req);
        const key = await s().revokeKey(id);
        await audit(res, 'key.revoke', key.app, id, { revoked_at: key.revoked_at });
        res.status(200).json(key);
      }),
    )
    .all(routeName('/v1/admin/keys/:id'), methodNotAllowed(['GET', 'DELETE']));

  router
    .route('/v1/admin/keys/:id/rotate')
    .post(
      routeName('/v1/admin/keys/:id/rotate'),
      auth,
      ...body,
      handle(async (req, res) => {
        const id = keyId(req);
        const input = parseInput(rotateKeySchema, req.body ?? {}, ROTATE_HINT);
        const old = await s().getKey(id);
        if (old === null) throw keyNotFound(id);
        const now = Date.now();
        if (old.revoked_at !== null && Date.parse(old.revoked_at) <= now) {
          throw new ApiError(
            'key_revoked',
            `the key ${id} is revoked already: create a new key for app '${old.app}' instead`,
          );
        }
        const created = await s().createKey(old.app, old.scopes, id, now);
        const previous = await s().revokeKey(id, now + input.grace_seconds * 1000);
        await audit(res, 'key.rotate', old.app, created.key.id, {
          rotated_from: id,
          grace_seconds: input.grace_seconds,
          old_revoked_at: previous.revoked_at,
        });
        res
          .status(201)
          .set('Location', `/v1/admin/keys/${created.key.id}`)
          .json({ ...created, previous });
      }),
    )
    .all(routeName('/v1/admin/keys/:id/rotate'), methodNotAllowed(['POST']));

  router
    .route('/v1/admin/audit')
    .get(
      routeName('/v1/admin/audit'),
      auth,
      handle(async (req, res) => {
        const q = parseInput(
          auditQuerySchema,
          { ...req.query },
          'use ?app=NAME, ?limit=1..1000 and ?cursor=<next_cursor of the previous page>',
          'the query',
        );
        res.status(200).json(await s().readAudit(q));
      }),
    )
    .all(routeName('/v1/admin/audit'), methodNotAllowed(['GET']));

  return router;
}
