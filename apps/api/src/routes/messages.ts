/** POST and GET (the list) /v1/messages, GET and DELETE /v1/messages/:id. */
import { Router } from 'express';
import { TERMINAL_STATUSES, type MessageView } from '@ttpush/contract';
import { encodeListCursor } from '@ttpush/store';
import type { MessageService } from '../message-service.ts';
import type { Config } from '@ttpush/config';
import type { Logger } from 'pino';
import {
  bearerAuth,
  mayRead,
  requireGroup,
  requireSender,
  scopedIdempotencyKey,
  type AppIdentity,
  type Keyring,
} from '../auth.ts';
import { ApiError } from '../errors.ts';
import { isServiceUnavailable } from '../error-handler.ts';
import { jsonBody, requireJsonType } from '../json-body.ts';
import { locals } from '../locals.ts';
import type { ApiMetrics } from '../metrics.ts';
import { routeName } from '../request-context.ts';
import { methodNotAllowed } from '../routing.ts';
import { rateLimit, type RateLimiter } from '../rate-limiter.ts';
import { MESSAGE_ID } from '../schemas/message.ts';
import { parseIdempotencyKey, parseSendBody, parseWait } from '../validation.ts';
import { parseListQuery } from '../message-list-query.ts';
import { chargeDailyQuota, type QuotaCounter } from '../tenants/quota.ts';

export interface MessagesDeps {
  config: Config;
  service: MessageService;
  keyring: Keyring;
  metrics: ApiMetrics;
  logger: Logger;
  rateLimiter?: RateLimiter | undefined;
  /** Daily quotas of tenant apps; absent: none. */
  quota?: QuotaCounter | undefined;
  /** Webhooks: refuses a callback_url (SSRF policy, no callback secret); absent: callback_url is taken as given. */
  checkCallbackUrl?: ((app: string, url: string) => Promise<void>) | undefined;
}

function notFound(id: string): ApiError {
  return new ApiError(
    'not_found',
    `there is no message with id ${JSON.stringify(id)}: check the id the POST answered`,
    'id',
  );
}

export function messagesRouter(deps: MessagesDeps): Router {
  const { config, service, keyring, metrics, logger } = deps;
  const router = Router();
  const auth = bearerAuth(keyring);

  router
    .route('/v1/messages')
    .post(
      routeName('/v1/messages'),
      auth,
      // Before the body is read: a refused request costs no parsing. Each admitted request takes one token.
      rateLimit(deps.rateLimiter),
      requireJsonType(),
      jsonBody(config.http.bodyLimitBytes),
      async (req, res) => {
        const l = locals(res);
        const app = l.app!;
        const wait = parseWait(req.query.wait);
        const idempotencyKey = scopedIdempotencyKey(app, parseIdempotencyKey(req.headers['idempotency-key']));
        const input = parseSendBody(req.body, config.maxContentBytes, app.priority);
        requireSender(app, input.from, 'from');
        if ('group' in input.to) requireGroup(app, input.to.group, 'to.group');
        if (input.callbackUrl !== undefined) await deps.checkCallbackUrl?.(app.name, input.callbackUrl);
        const refund = await chargeDailyQuota(deps.quota, app, 1);
        const result = await service
          .submit({
            app: app.name,
            key: app.keyId,
            from: input.from,
            to: input.to,
            text: input.text,
            ...(input.withParts && { withParts: true }),
            priority: input.priority,
            ...(input.sendAt !== undefined && { sendAt: input.sendAt }),
            ...(input.deadline !== undefined && { deadline: input.deadline }),
            ...(input.metadata !== undefined && { metadata: input.metadata }),
            ...(idempotencyKey !== undefined && { idempotencyKey }),
            // A key without read_all lists only its own messages: they go to its own index too.
            ...(!app.readAll && { listByKey: true }),
            ...(wait !== undefined && { notify: true }),
            ...(input.callbackUrl !== undefined && { callbackUrl: input.callbackUrl }),
          })
          .catch(async (err: unknown) => {
            await refund();
            throw err;
          });
        // A repeat of an Idempotency-Key's message is not a message of the day.
        if (result.duplicate) await refund();
        if (!result.duplicate) metrics.accepted.inc({ app: app.name, priority: input.priority });
        logger.debug(
          { reqId: l.requestId, message: result.view.id, status: result.view.status, duplicate: result.duplicate },
          'message accepted',
        );
        let view: MessageView = result.view;
        if (wait !== undefined && !TERMINAL_STATUSES.has(view.status)) {
          try {
            view = (await service.waitForTerminal(view.id, Math.round(wait * 1000))) ?? view;
          } catch (err) {
            // The message is accepted: a 503 now would invite a second send, so answer 202 with what we know.
            if (!isServiceUnavailable(err)) throw err;
            logger.warn({ reqId: l.requestId, id: view.id }, 'wait for a message ended early: Redis unreachable');
          }
        }
        if (result.duplicate) res.set('Idempotent-Replayed', 'true');
        res
          .status(wait !== undefined && TERMINAL_STATUSES.has(view.status) ? 200 : 202)
          .set('Location', `/v1/messages/${encodeURIComponent(view.id)}`)
          .json(view);
      },
    )
    // The caller's messages newest first, scoped as GET of one message is: the app's, or the key's own without read_all.
    .get(routeName('/v1/messages'), auth, async (req, res) => {
      const app = locals(res).app!;
      const scope = app.readAll ? { app: app.name } : { app: app.name, key: app.keyId };
      const page = await service.list(parseListQuery({ ...(req.query as Record<string, unknown>) }, scope));
      res.status(200).json({
        messages: page.messages.map((m) => m.view),
        next_cursor: page.next === null ? null : encodeListCursor(page.next),
      });
    })
    .all(routeName('/v1/messages'), methodNotAllowed(['GET', 'POST']));

  /** Another app's message, or another key's without read_all, answers as if it did not exist. */
  async function assertReadable(app: AppIdentity, id: string): Promise<void> {
    const owner = MESSAGE_ID.test(id) ? await service.owner(id) : null;
    if (owner === null || !mayRead(app, owner)) throw notFound(id);
  }

  router
    .route('/v1/messages/:id')
    .get(routeName('/v1/messages/:id'), auth, async (req, res) => {
      const id = req.params.id;
      await assertReadable(locals(res).app!, id);
      const view = await service.get(id);
      if (view === null) throw notFound(id);
      res.status(200).json(view);
    })
    .delete(routeName('/v1/messages/:id'), auth, async (req, res) => {
      const id = req.params.id;
      await assertReadable(locals(res).app!, id);
      const result = await service.cancel(id);
      if (result.ok) {
        res.status(200).json(result.view);
        return;
      }
      if (result.reason === 'not_found') throw notFound(id);
      throw new ApiError(
        'not_cancellable',
        `message ${id} is ${result.view?.status ?? 'no longer pending'}: only a queued or scheduled message can be cancelled`,
        null,
        {},
        { message: result.view ?? null },
      );
    })
    .all(routeName('/v1/messages/:id'), methodNotAllowed(['GET', 'DELETE']));

  return router;
}
