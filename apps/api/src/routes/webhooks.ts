/**
 * /v1/webhooks: an app's endpoints (create, list, read, change, delete, rotate the secret), its deliveries (list,
 * read with attempts, redeliver) and its callback secret. Every route is scoped to the calling app's key: another
 * app's endpoint or delivery answers 404. They are app-wide (an endpoint receives the messages of every key of the
 * app, with their metadata; the callback secret signs every key's callbacks), so every route needs the
 * manage_webhooks scope (or read_all): 403 forbidden_scope otherwise. A callback_url needs neither.
 */
import { Router, type RequestHandler, type Response } from 'express';
import { DELIVERY_ID, ENDPOINT_ID } from '@ttpush/contract';
import { EndpointLimitError, type WebhookStore } from '@ttpush/store';
import type { UrlPolicy } from '@ttpush/config';
import type { Config } from '@ttpush/config';
import { bearerAuth, requireScope, type Keyring } from '../auth.ts';
import { ApiError } from '../errors.ts';
import { jsonBody, requireJsonType } from '../json-body.ts';
import { locals } from '../locals.ts';
import { routeName } from '../request-context.ts';
import { methodNotAllowed } from '../routing.ts';
import {
  DEFAULT_GRACE_S,
  createEndpointBody,
  deliveriesQuery,
  parseWith,
  patchEndpointBody,
  rotateBody,
} from '../webhooks/schemas.ts';
import { checkCallbackUrlForm, checkWebhookUrl } from '../webhooks/url-check.ts';
// Registers the operations these routes serve (the API reference).
import '../openapi/ops-webhooks.ts';

export interface WebhooksDeps {
  config: Config;
  store: WebhookStore;
  policy: UrlPolicy;
  keyring: Keyring;
}

const appOf = (res: Response) => locals(res).app!.name;

function endpointNotFound(id: string): ApiError {
  return new ApiError(
    'not_found',
    `there is no webhook endpoint with id ${JSON.stringify(id)} for this app: list them with GET /v1/webhooks/endpoints`,
    'id',
  );
}

function deliveryNotFound(id: string): ApiError {
  return new ApiError(
    'not_found',
    `there is no webhook delivery with id ${JSON.stringify(id)} for this app: list them with GET /v1/webhooks/deliveries`,
    'id',
  );
}

/** A body may be absent on the POSTs that take only optional fields. */
function optionalBody(body: unknown): unknown {
  return body === undefined || (typeof body === 'object' && body !== null && Object.keys(body).length === 0)
    ? {}
    : body;
}

export function webhooksRouter(deps: WebhooksDeps): Router {
  const { config, store, policy, keyring } = deps;
  const router = Router();
  const authenticate = bearerAuth(keyring);
  /** The app key, then the manage_webhooks scope (or read_all). */
  const auth: RequestHandler = (req, res, next) =>
    authenticate(req, res, (err?: unknown) => {
      if (err !== undefined) return next(err);
      try {
        requireScope(
          locals(res).app!,
          'manage_webhooks',
          "managing or reading the app's webhooks (endpoints, deliveries, the callback secret)",
        );
      } catch (refusal) {
        return next(refusal);
      }
      next();
    });
  const json = [requireJsonType(), jsonBody(config.http.bodyLimitBytes)];
  // POSTs whose fields are all optional: a body is read only when one is sent.
  const maybeJson = [jsonBody(config.http.bodyLimitBytes)];

  const p = '/v1/webhooks/endpoints';
  router
    .route(p)
    .post(routeName(p), auth, ...json, async (req, res) => {
      const input = parseWith(createEndpointBody, req.body);
      await checkWebhookUrl(policy, input.url, 'url');
      try {
        const { view, secret } = await store.create(appOf(res), input);
        res
          .status(201)
          .set('Location', `${p}/${view.id}`)
          .json({ ...view, secret });
      } catch (err) {
        if (err instanceof EndpointLimitError) {
          throw new ApiError('too_many_endpoints', `${err.message}: delete one you no longer use first`);
        }
        throw err;
      }
    })
    .get(routeName(p), auth, async (_req, res) => {
      res.status(200).json({ endpoints: await store.list(appOf(res)) });
    })
    .all(routeName(p), methodNotAllowed(['GET', 'POST']));

  const one = `${p}/:id`;
  const endpointId = (id: string) => {
    if (!ENDPOINT_ID.test(id)) throw endpointNotFound(id);
    return id;
  };
  router
    .route(one)
    .get(routeName(one), auth, async (req, res) => {
      const view = await store.get(appOf(res), endpointId(req.params.id));
      if (!view) throw endpointNotFound(req.params.id);
      res.status(200).json(view);
    })
    .patch(routeName(one), auth, ...json, async (req, res) => {
      const id = endpointId(req.params.id);
      const patch = parseWith(patchEndpointBody, req.body);
      if (patch.url !== undefined) await checkWebhookUrl(policy, patch.url, 'url');
      const view = await store.update(appOf(res), id, patch);
      if (!view) throw endpointNotFound(id);
      res.status(200).json(view);
    })
    .delete(routeName(one), auth, async (req, res) => {
      if (!(await store.remove(appOf(res), endpointId(req.params.id)))) throw endpointNotFound(req.params.id);
      res.status(204).end();
    })
    .all(routeName(one), methodNotAllowed(['GET', 'PATCH', 'DELETE']));

  const rotate = `${one}/rotate-secret`;
  router
    .route(rotate)
    .post(routeName(rotate), auth, ...maybeJson, async (req, res) => {
      const id = endpointId(req.params.id);
      const body = parseWith(rotateBody, optionalBody(req.body));
      const r = await store.rotate(appOf(res), id, (body.grace_seconds ?? DEFAULT_GRACE_S) * 1000);
      if (!r) throw endpointNotFound(id);
      res.status(200).json({ ...r.view, secret: r.secret });
    })
    .all(routeName(rotate), methodNotAllowed(['POST']));

  const failed = `${one}/redeliver-failed`;
  router
    .route(failed)
    .post(routeName(failed), auth, async (req, res) => {
      const n = await store.redeliverFailed(appOf(res), endpointId(req.params.id));
      if (n === null) throw endpointNotFound(req.params.id);
      res.status(202).json({ redelivered: n });
    })
    .all(routeName(failed), methodNotAllowed(['POST']));

  const deliveries = '/v1/webhooks/deliveries';
  router
    .route(deliveries)
    .get(routeName(deliveries), auth, async (req, res) => {
      const q = parseWith(deliveriesQuery, { ...(req.query as Record<string, unknown>) }, 'the query');
      if (q.endpoint !== undefined && !(ENDPOINT_ID.test(q.endpoint) && (await store.get(appOf(res), q.endpoint)))) {
        throw endpointNotFound(q.endpoint);
      }
      res.status(200).json(
        await store.deliveries(appOf(res), {
          endpoint: q.endpoint,
          status: q.status,
          cursor: q.cursor ?? 0,
          limit: q.limit ?? 50,
        }),
      );
    })
    .all(routeName(deliveries), methodNotAllowed(['GET']));

  const delivery = `${deliveries}/:id`;
  const deliveryId = (id: string) => {
    if (!DELIVERY_ID.test(id)) throw deliveryNotFound(id);
    return id;
  };
  router
    .route(delivery)
    .get(routeName(delivery), auth, async (req, res) => {
      const d = await store.delivery(appOf(res), deliveryId(req.params.id));
      if (!d) throw deliveryNotFound(req.params.id);
      res.status(200).json(d);
    })
    .all(routeName(delivery), methodNotAllowed(['GET']));

  const redeliver = `${delivery}/redeliver`;
  router
    .route(redeliver)
    .post(routeName(redeliver), auth, async (req, res) => {
      const d = await store.redeliver(appOf(res), deliveryId(req.params.id));
      if (!d) throw deliveryNotFound(req.params.id);
      res.status(202).json(d);
    })
    .all(routeName(redeliver), methodNotAllowed(['POST']));

  const cb = '/v1/webhooks/callback-secret';
  router
    .route(cb)
    .get(routeName(cb), auth, async (_req, res) => {
      const { created, ...view } = await store.callbackSecret(appOf(res));
      res.status(created ? 201 : 200).json(view);
    })
    .all(routeName(cb), methodNotAllowed(['GET']));

  const cbRotate = `${cb}/rotate`;
  router
    .route(cbRotate)
    .post(routeName(cbRotate), auth, ...maybeJson, async (req, res) => {
      const body = parseWith(rotateBody, optionalBody(req.body));
      const { created, ...view } = await store.callbackSecret(
        appOf(res),
        (body.grace_seconds ?? DEFAULT_GRACE_S) * 1000,
      );
      res.status(created ? 201 : 200).json(view);
    })
    .all(routeName(cbRotate), methodNotAllowed(['POST']));

  return router;
}

/**
 * The check of a request's callback_url (POST /v1/messages, /v1/batches): its form and literal address (no DNS on the
 * send path; the worker checks the resolved address on delivery), and a callback secret the
 * app has fetched (GET /v1/webhooks/callback-secret), without which nobody could verify the callbacks.
 */
export function callbackUrlCheck(store: WebhookStore, policy: UrlPolicy) {
  return async (app: string, url: string): Promise<void> => {
    checkCallbackUrlForm(policy, url, 'callback_url');
    if (!(await store.hasCallbackSecret(app))) {
      throw new ApiError(
        'callback_secret_missing',
        'callback_url is given but this app has no callback secret yet: fetch it once with GET /v1/webhooks/callback-secret, then send again',
        'callback_url',
      );
    }
  };
}
