/**
 * The operators' key (TTPUSH_ADMIN_KEY): /console, the queue dashboard and the admin endpoints.
 * Presented as `Authorization: Bearer <admin key>`; compared as SHA-256 digests with timingSafeEqual.
 * Unset: every admin route answers 403 admin_disabled. The key never appears in a log line or a response.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { ApiError } from './errors.ts';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

function digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

export interface AdminKeyCheck {
  /** True when TTPUSH_ADMIN_KEY is set. */
  readonly enabled: boolean;
  /** Whether `presented` is the admin key (constant time). */
  matches(presented: string | undefined): boolean;
  /** The admin key presented in the Authorization header, if any (not checked). */
  presented(req: Request): string | undefined;
}

export function adminKeyCheck(adminKey: string | undefined): AdminKeyCheck {
  const expected = adminKey === undefined ? undefined : digest(adminKey);
  return {
    enabled: expected !== undefined,
    matches(presented) {
      if (expected === undefined || presented === undefined) return false;
      return timingSafeEqual(digest(presented), expected);
    },
    presented(req) {
      const m = BEARER.exec(req.headers.authorization ?? '');
      return m ? m[1] : undefined;
    },
  };
}

/**
 * Requires the admin key. `alsoAccept` lets a route take another proof of it (the console's session
 * cookie, checked in Redis) when the Bearer header does not carry the key.
 */
export function adminAuth(check: AdminKeyCheck, alsoAccept?: (req: Request) => Promise<boolean>): RequestHandler {
  return async (req, _res, next) => {
    if (!check.enabled) {
      throw new ApiError(
        'admin_disabled',
        'admin endpoints are off: set TTPUSH_ADMIN_KEY (16+ characters) on the api to turn them on',
      );
    }
    // The Bearer key first: it needs no Redis.
    if (check.matches(check.presented(req)) || (alsoAccept !== undefined && (await alsoAccept(req)))) {
      next();
      return;
    }
    throw new ApiError(
      'unauthorized',
      'this endpoint needs the admin key: send "Authorization: Bearer <TTPUSH_ADMIN_KEY>"; `ttpush start` (npm start) prints it at each start and keeps it in keys.json of its data folder (TTPUSH_DATA_DIR, default .ttpush)',
      null,
      { 'WWW-Authenticate': 'Bearer' },
    );
  };
}
