/**
 * The drop-in for the old http_msg_server (protocol notes §9): POST /query/SendSingleMessage and
 * /query/SendGroupMessage take the old body and answer the old reply, once the message is stored
 * (error 0 with its msg_id) or the bounded wait (config.legacyWaitMs) ran out (error 10). Unlike the
 * old server, the app key is checked and no request hangs.
 */
import express, { Router, type Request, type Response } from 'express';
import type { Config } from '@ttpush/config';
import type { WaitOutcome, MessageService } from '../message-service.ts';
import type { Recipient } from '@ttpush/contract';
import type { Logger } from 'pino';
import { maySendAs, maySendToGroup, type Keyring } from '../auth.ts';
import { ApiError } from '../errors.ts';
import { findShapeProblem, shapeError } from '../json-shape.ts';
import type { LegacyReply } from '../legacy-reply.ts';
import { locals } from '../locals.ts';
import { mountLegacyRoute } from './legacy-route.ts';
import { logLegacyRefusal } from '../legacy-refusal.ts';
import type { ApiMetrics } from '../metrics.ts';
import type { RateLimiter } from '../rate-limiter.ts';
import { checkObject } from '../schema-check.ts';
import { LegacySendGroupBody, LegacySendSingleBody } from '../schemas/legacy.ts';
import type { QuotaCounter } from '../tenants/quota.ts';
import { assertNotSelf, isPlainObject, requireContent, requireId } from '../validation.ts';

export interface LegacyDeps {
  config: Config;
  service: MessageService;
  keyring: Keyring;
  metrics: ApiMetrics;
  logger: Logger;
  rateLimiter?: RateLimiter | undefined;
  /** Daily quotas of tenant apps; absent: none. */
  quota?: QuotaCounter | undefined;
}

type Kind = 'single' | 'group';

/** Failure codes that mean TeamTalk could not be reached in time (error 10); any other failure is error 8. */
const UNAVAILABLE_FAILURES: ReadonlySet<string> = new Set(['teamtalk_unavailable', 'expired']);

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The body as a JSON object, or why it is refused (error 1): not UTF-8 JSON, not an object, too deep, a lone surrogate. */
export function parseJson(body: unknown): { value: Record<string, unknown> } | { refused: string } {
  const notJson = 'the body is not a JSON object in UTF-8';
  if (!Buffer.isBuffer(body)) return { refused: notJson };
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(body));
  } catch {
    return { refused: notJson };
  }
  // Before any recursive check: a value nested thousands deep would overflow the stack there.
  const problem = findShapeProblem(value);
  if (problem !== null) return { refused: shapeError(problem).message };
  return isPlainObject(value) ? { value } : { refused: notJson };
}

/** The legacy answer for a message's state (a MessageView, or a waiter's outcome), or null while it is not terminal. */
export function replyForView(view: WaitOutcome | null): LegacyReply | null {
  if (view === null) return { code: 'unknown_error' };
  switch (view.status) {
    case 'sent':
      return view.msg_id ? { code: 'ok', msgId: view.msg_id } : { code: 'unknown_error' };
    case 'failed':
      return UNAVAILABLE_FAILURES.has(view.error?.code ?? '') ? { code: 'server_error' } : { code: 'unknown_error' };
    case 'cancelled':
      return { code: 'unknown_error' };
    default:
      return null;
  }
}

export function legacyRouter(deps: LegacyDeps): Router {
  const { config, service, keyring, metrics, logger } = deps;
  const router = Router();
  // The old server read any body as JSON whatever its Content-Type, so this does too.
  const rawBody = express.raw({ limit: config.http.bodyLimitBytes, type: () => true });

  async function send(kind: Kind, req: Request, res: Response): Promise<LegacyReply> {
    const l = locals(res);
    const endpoint = kind === 'single' ? '/query/SendSingleMessage' : '/query/SendGroupMessage';
    const parsed = parseJson(req.body);
    const body = 'value' in parsed ? parsed.value : undefined;
    const refuse = (field: string | null, reason: string): LegacyReply => {
      logLegacyRefusal(logger, res, endpoint, field, reason, body);
      return { code: 'bad_params' };
    };
    if (body === undefined) {
      return refuse(
        null,
        `${(parsed as { refused: string }).refused}: send {"app_key", "from_user_id", "session_id", "msg"}`,
      );
    }
    const app = typeof body.app_key === 'string' ? await keyring.lookup(body.app_key) : null;
    if (app === null) return { code: 'unknown_app_key' };
    l.app = app;

    let from: number;
    let to: Recipient;
    let text: string;
    try {
      const valid = checkObject(kind === 'single' ? LegacySendSingleBody : LegacySendGroupBody, body, {
        fields: {
          from_user_id: (v) => requireId(v, 'from_user_id'),
          session_id: (v) => requireId(v, 'session_id'),
          msg: (v) => requireContent(v, 'msg', config.maxContentBytes),
        },
        // Loose objects: the old server ignored fields it did not know, so these do too.
        unknown: (key) => new ApiError('unknown_field', `${key} is not a known field`, key),
      });
      from = valid.from_user_id;
      const session = valid.session_id;
      text = requireContent(valid.msg, 'msg', config.maxContentBytes);
      if (kind === 'single') assertNotSelf(from, session, 'session_id', 'from_user_id');
      to = kind === 'single' ? { user: session } : { group: session };
    } catch (err) {
      if (err instanceof ApiError) return refuse(err.field, err.message);
      throw err;
    }
    if (!maySendAs(app, from)) return { code: 'app_key_user_mismatch' };
    // A group outside the key's groups: the old replies have no closer code than "user mismatch".
    if ('group' in to && !maySendToGroup(app, to.group)) return { code: 'app_key_user_mismatch' };
    // Over the app's rate_limit or daily quota: the old server's "busy" answer, error 10.
    if (deps.rateLimiter && !(await deps.rateLimiter.admit(app.name, app.rateLimit)).ok) {
      logger.debug({ reqId: l.requestId, app: app.name }, 'legacy request over the app rate limit');
      return { code: 'server_error' };
    }
    if (deps.quota && app.dailyQuota !== undefined && !(await deps.quota.takeQuota(app.name, 1, app.dailyQuota))) {
      logger.debug({ reqId: l.requestId, app: app.name }, 'legacy request over the app daily quota');
      return { code: 'server_error' };
    }

    // The wait is registered with the accept: the worker's notice brings the outcome, with no read of the record.
    const { view, outcome } = await service
      .submit(
        {
          app: app.name,
          key: app.keyId,
          from,
          to,
          text,
          priority: 'high',
          notify: true,
          ...(!app.readAll && { listByKey: true }),
        },
        { waitMs: config.legacyWaitMs },
      )
      .catch(async (err: unknown) => {
        // Not accepted: not a message of the day.
        if (deps.quota && app.dailyQuota !== undefined) await deps.quota.refundQuota(app.name, 1);
        throw err;
      });
    logger.debug({ reqId: l.requestId, message: view.id, status: view.status }, 'legacy message accepted');
    metrics.accepted.inc({ app: app.name, priority: 'high' });
    const done = replyForView(await (outcome ?? service.waitForTerminal(view.id, config.legacyWaitMs)));
    if (done !== null) return done;
    // Not stored in time: take it back if it has not started, so a caller's retry does not send it twice.
    try {
      const cancelled = await service.cancel(view.id);
      if (!cancelled.ok && cancelled.view) return replyForView(cancelled.view) ?? { code: 'server_error' };
    } catch (err) {
      logger.warn({ reqId: l.requestId, id: view.id, err }, 'could not cancel a legacy message after its wait');
    }
    return { code: 'server_error' };
  }

  mountLegacyRoute(router, '/query/SendSingleMessage', rawBody, (req, res) => send('single', req, res));
  mountLegacyRoute(router, '/query/SendGroupMessage', rawBody, (req, res) => send('group', req, res));
  return router;
}
