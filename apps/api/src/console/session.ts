/**
 * The console's browser session: a cookie holding `<expiry ms>.<nonce>.<HMAC>`, never the admin key.
 * The HMAC is keyed by a hash of the admin key, so every session dies when the key changes; a logout
 * clears the cookie (the token itself stays valid until it expires: nothing is stored server-side).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';

export const SESSION_COOKIE = 'ttpush_console';
/** How long a login lasts. */
export const SESSION_TTL_MS = 12 * 3_600_000;

export interface ConsoleSessions {
  /** A new token, valid for SESSION_TTL_MS from `now`. */
  issue(now?: number): string;
  /** Whether the request carries a valid, unexpired session cookie. */
  valid(req: Request, now?: number): boolean;
  /** The Set-Cookie value that stores `token` (HttpOnly, SameSite=Strict, Path=/; Secure over HTTPS). */
  cookie(token: string, secure: boolean): string;
  /** The Set-Cookie value that removes the session. */
  clearCookie(secure: boolean): string;
}

const TOKEN = /^(\d{13})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

/** The value of cookie `name` in a Cookie header, if present. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Sessions signed for `adminKey`; with no admin key no session is ever valid. */
export function consoleSessions(adminKey: string | undefined): ConsoleSessions {
  const hmacKey =
    adminKey === undefined ? undefined : createHash('sha256').update(`ttpush console session\0${adminKey}`).digest();
  const sign = (payload: string) => createHmac('sha256', hmacKey!).update(payload).digest('base64url');
  const attrs = (secure: boolean) => `HttpOnly; SameSite=Strict; Path=/${secure ? '; Secure' : ''}`;
  return {
    issue(now = Date.now()) {
      if (hmacKey === undefined) throw new Error('console sessions need TTPUSH_ADMIN_KEY');
      const payload = `${now + SESSION_TTL_MS}.${randomBytes(16).toString('base64url')}`;
      return `${payload}.${sign(payload)}`;
    },
    valid(req, now = Date.now()) {
      if (hmacKey === undefined) return false;
      const m = TOKEN.exec(readCookie(req.headers.cookie, SESSION_COOKIE) ?? '');
      if (!m || Number(m[1]) <= now) return false;
      const expected = Buffer.from(sign(`${m[1]}.${m[2]}`));
      const given = Buffer.from(m[3]!);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
    cookie(token, secure) {
      return `${SESSION_COOKIE}=${token}; Max-Age=${SESSION_TTL_MS / 1000}; ${attrs(secure)}`;
    },
    clearCookie(secure) {
      return `${SESSION_COOKIE}=; Max-Age=0; ${attrs(secure)}`;
    },
  };
}
