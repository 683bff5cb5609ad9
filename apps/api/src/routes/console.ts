/**
 * The operators' console: GET /console (the page, or the login form without a session), POST
 * /console/login and /console/logout, its static CSS and JS, GET /console/api/overview (JSON the page
 * polls) and POST /console/api/batches/:id/{cancel,pause,resume}.
 *
 * Auth: the session cookie (console/session.ts: a random id whose session lives in Redis; logout deletes it) or
 * `Authorization: Bearer <TTPUSH_ADMIN_KEY>` (scripts).
 * A change made with the cookie must also come from this origin (console/same-origin.ts): the cookie is
 * SameSite=Strict, and the Origin check covers browsers and proxies that do not honour it.
 */
import { readFileSync } from 'node:fs';
import express, { Router, type Response } from 'express';
import type { Config } from '@ttpush/config';
import type { Logger } from 'pino';
import type { BatchActionResult } from '@ttpush/store';
import type { BatchService } from '../batch-service.ts';
import type { MessageService } from '../message-service.ts';
import { adminAuth, adminKeyCheck } from '../admin-auth.ts';
import { ApiError } from '../errors.ts';
import { locals } from '../locals.ts';
import { routeName } from '../request-context.ts';
import { methodNotAllowed } from '../routing.ts';
import { consoleSessions, type ConsoleSessions } from '../console/session.ts';
import { isServiceUnavailable } from '../error-handler.ts';
import { fromSameOrigin, sameOriginUnlessBearer } from '../console/same-origin.ts';
import { CONSOLE_CSP, consolePage, disabledPage, loginPage } from '../console/pages.ts';
import type { Overview } from '../console/overview.ts';
import { consoleMessages } from '../console/messages.ts';
import '../openapi/ops-console.ts';

export interface ConsoleDeps {
  config: Config;
  batches: BatchService;
  /** The overview JSON (console/overview.ts readOverview over the api's services). */
  overview: () => Promise<Overview>;
  /** The recent messages panel (GET /console/api/messages) and the lookup of any app's message (GET /console/api/messages/:id, with parts); absent: not mounted. */
  messages?: MessageService | undefined;
  /** One line per batch action taken from the console (an operator changed an app's batch). */
  logger?: Logger | undefined;
  /** Sessions in Redis; absent (an api without Redis): nobody can log in, the Bearer key still works. */
  sessions?: ConsoleSessions | undefined;
}

const ASSETS: Record<string, { type: string; body: Buffer }> = {
  'console.js': {
    type: 'text/javascript; charset=utf-8',
    body: readFileSync(new URL('../console/assets/console.js', import.meta.url)),
  },
  'console-messages.js': {
    type: 'text/javascript; charset=utf-8',
    body: readFileSync(new URL('../console/assets/console-messages.js', import.meta.url)),
  },
  'console.css': {
    type: 'text/css; charset=utf-8',
    body: readFileSync(new URL('../console/assets/console.css', import.meta.url)),
  },
  'console-lookup.js': {
    type: 'text/javascript; charset=utf-8',
    body: readFileSync(new URL('../console/assets/console-lookup.js', import.meta.url)),
  },
};

const BATCH_ACTIONS = ['cancel', 'pause', 'resume'] as const;
type BatchAction = (typeof BATCH_ACTIONS)[number];
const BATCH_ID_SHAPE = /^[\x21-\x7e]{1,200}$/;
const LOGIN_BODY_LIMIT = '8kb';

function html(res: Response, status: number, body: string): void {
  res
    .status(status)
    .set({
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': CONSOLE_CSP,
      'X-Frame-Options': 'DENY',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'same-origin',
      'Cache-Control': 'no-store',
    })
    .send(body);
}

function actionError(id: string, action: BatchAction, r: Exclude<BatchActionResult, { ok: true }>): ApiError {
  if (r.reason === 'not_found') {
    return new ApiError(
      'not_found',
      `there is no batch with id ${JSON.stringify(id)}: reload the console (batches are kept 7 days after they finish)`,
      'id',
    );
  }
  const code = action === 'cancel' ? 'not_cancellable' : action === 'pause' ? 'not_pausable' : 'not_resumable';
  const status = r.view?.status ?? 'finished';
  return new ApiError(
    code,
    status === 'uploading'
      ? `batch ${id} is still uploading: wait for its upload to end, then ${action} it`
      : `batch ${id} is ${status}: only a queued, running or paused batch can be ${action === 'cancel' ? 'cancelled' : `${action}d`}`,
    null,
    {},
    r.view ? { batch: r.view } : {},
  );
}

export function consoleRouter(deps: ConsoleDeps): Router {
  const { config, batches } = deps;
  const check = adminKeyCheck(config.adminKey);
  const sessions = deps.sessions ?? consoleSessions(undefined, config.adminKey);
  const auth = adminAuth(check, (req) => sessions.valid(req));
  const loginBody = express.urlencoded({ extended: false, limit: LOGIN_BODY_LIMIT, parameterLimit: 10 });
  const router = Router();

  /** With the cookie (not the Bearer key), a change must come from the console page itself. */
  const sameOrigin = sameOriginUnlessBearer(check);

  router
    .route('/console')
    .get(routeName('console'), async (req, res) => {
      if (!check.enabled) return html(res, 403, disabledPage());
      let known = check.matches(check.presented(req));
      if (!known) {
        try {
          known = await sessions.valid(req);
        } catch (err) {
          if (!isServiceUnavailable(err)) throw err;
          // Redis down: the page (which holds no data) loads for a session cookie; its API answers 503 until Redis is
          // back, then 401 (back to the login) if the session is no more.
          known = sessions.presented(req);
        }
      }
      html(res, 200, known ? consolePage() : loginPage());
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/console/login')
    .post(routeName('console_login'), loginBody, async (req, res) => {
      if (!check.enabled) return html(res, 403, disabledPage());
      if (!fromSameOrigin(req)) {
        return html(
          res,
          403,
          loginPage('This login did not come from this console page: open /console and log in there.'),
        );
      }
      const body = req.body as Record<string, unknown> | undefined;
      const key = typeof body?.key === 'string' ? body.key.trim() : undefined;
      if (!check.matches(key)) {
        return html(res, 401, loginPage("That is not the admin key: paste the api's TTPUSH_ADMIN_KEY exactly."));
      }
      let id: string;
      try {
        id = await sessions.create();
      } catch (err) {
        if (!isServiceUnavailable(err)) throw err;
        return html(res, 503, loginPage('Redis is unreachable, and sessions are kept there: try again in a moment.'));
      }
      res.setHeader('Set-Cookie', sessions.cookie(id, req.secure));
      res.redirect(303, '/console');
    })
    .all(methodNotAllowed(['POST']));

  router
    .route('/console/logout')
    .post(routeName('console_logout'), async (req, res) => {
      try {
        // Deleted in Redis: the cookie opens nothing any more, wherever a copy of it is.
        await sessions.end(req);
      } catch (err) {
        if (!isServiceUnavailable(err)) throw err;
        // The cookie stays: clearing it would leave a live session that nobody could end before it expires.
        return html(
          res,
          503,
          loginPage('Redis is unreachable: the session could not be ended. Go back and log out again in a moment.'),
        );
      }
      res.setHeader('Set-Cookie', sessions.clearCookie(req.secure));
      res.redirect(303, '/console');
    })
    .all(methodNotAllowed(['POST']));

  router
    .route('/console/assets/:file')
    .get(routeName('console_asset'), (req, res) => {
      const asset = Object.hasOwn(ASSETS, req.params.file) ? ASSETS[req.params.file] : undefined;
      if (!asset) {
        throw new ApiError(
          'not_found',
          `there is no console asset ${JSON.stringify(req.params.file)}: the page loads console.js and console.css`,
        );
      }
      res
        .status(200)
        .set({ 'Content-Type': asset.type, 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' })
        .send(asset.body);
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/console/api/overview')
    .get(routeName('console_overview'), auth, async (_req, res) => {
      res.set('Cache-Control', 'no-store').json(await deps.overview());
    })
    .all(methodNotAllowed(['GET']));

  if (deps.messages) {
    router
      .route('/console/api/messages')
      .get(routeName('console_messages'), auth, consoleMessages(deps.messages))
      .all(methodNotAllowed(['GET']));
  }

  for (const action of BATCH_ACTIONS) {
    router
      .route(`/console/api/batches/:id/${action}`)
      .post(routeName(`console_batch_${action}`), auth, sameOrigin, async (req, res) => {
        const id = String(req.params.id);
        if (!BATCH_ID_SHAPE.test(id)) throw actionError(id, action, { ok: false, reason: 'not_found' });
        const r = await batches[action](id);
        if (!r.ok) throw actionError(id, action, r);
        deps.logger?.info({ reqId: locals(res).requestId, action, batch: id }, 'console batch action');
        res.status(200).json(r.view);
      })
      .all(methodNotAllowed(['POST']));
  }

  router
    .route('/console/api/messages/:id')
    .get(routeName('console_message'), auth, async (req, res) => {
      const id = String(req.params.id);
      const view = deps.messages ? await deps.messages.get(id) : null;
      if (view === null) {
        throw new ApiError(
          'not_found',
          `there is no message with id ${JSON.stringify(id)}: check the id (messages are kept a limited time after they end)`,
          'id',
        );
      }
      res.set('Cache-Control', 'no-store').json(view);
    })
    .all(methodNotAllowed(['GET']));
  return router;
}
