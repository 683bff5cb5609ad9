/** Mounts one legacy /query endpoint: POST only (JSON 405 otherwise), raw body, the old reply written raw. */
import type { Request, RequestHandler, Response, Router } from 'express';
import { sendLegacyReply, type LegacyReply } from '../legacy-reply.ts';
import { locals } from '../locals.ts';
import { routeName } from '../request-context.ts';
import { methodNotAllowed } from '../routing.ts';

export function mountLegacyRoute(
  router: Router,
  path: string,
  rawBody: RequestHandler,
  run: (req: Request, res: Response) => Promise<LegacyReply>,
): void {
  router
    .route(path)
    .post(
      routeName(path),
      (_req, res, next) => {
        locals(res).legacy = true;
        next();
      },
      rawBody,
      async (req, res) => {
        sendLegacyReply(res, await run(req, res));
      },
    )
    .all(routeName(path), methodNotAllowed(['POST']));
}
