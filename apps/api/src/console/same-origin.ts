/**
 * CSRF defence for what a console session may change: besides the SameSite=Strict cookie, the browser
 * must say the request comes from this origin (Sec-Fetch-Site: same-origin, or an Origin header equal
 * to this host). A request with neither header is refused: every browser that runs the console sends one.
 */
import type { Request, RequestHandler } from 'express';
import type { AdminKeyCheck } from '../admin-auth.ts';
import { ApiError } from '../errors.ts';

export function fromSameOrigin(req: Request): boolean {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string') return site === 'same-origin';
  const origin = req.headers.origin;
  const host = req.headers.host;
  if (typeof origin !== 'string' || origin === 'null' || host === undefined) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/**
 * Lets a change through when it carries the Bearer admin key (no ambient credential: nothing to forge) or
 * comes from this origin; refuses it with 403 cross_origin_refused otherwise. GET and HEAD always pass.
 */
export function sameOriginUnlessBearer(check: AdminKeyCheck): RequestHandler {
  return (req, _res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD') return next();
    if (check.matches(check.presented(req)) || fromSameOrigin(req)) return next();
    throw new ApiError(
      'cross_origin_refused',
      'this console action must come from the console page on this host (Origin / Sec-Fetch-Site): reload /console and use its buttons, or call it with "Authorization: Bearer <TTPUSH_ADMIN_KEY>"',
    );
  };
}
