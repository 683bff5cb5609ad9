/**
 * The console's browser sessions, kept in Redis so that they can be ended (store ConsoleSessionStore): the cookie
 * holds only a random session id (32 bytes, base64url), never the admin key.
 * - Logout deletes the session: the cookie opens nothing any more, on every api process.
 * - A session belongs to the admin key it was made with: changing the key ends every session.
 * - Redis down: checking or creating a session throws ServiceUnavailableError (the console's API answers 503
 *   redis_unavailable); the Bearer admin key needs no Redis.
 */
import { randomBytes } from 'node:crypto';
import type { Request } from 'express';
import { ServiceUnavailableError, type ConsoleSessionStore } from '@ttpush/store';

export const SESSION_COOKIE = 'ttpush_console';
/** How long a login lasts. */
export const SESSION_TTL_MS = 12 * 3_600_000;

/** 32 random bytes, base64url without padding. */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

export interface ConsoleSessions {
  /** A new session (stored in Redis for SESSION_TTL_MS); resolves with the cookie value. */
  create(): Promise<string>;
  /** Whether the request's cookie names a live session of the current admin key. Throws when Redis is down. */
  valid(req: Request): Promise<boolean>;
  /** Whether the request carries a well-formed session cookie (not checked). */
  presented(req: Request): boolean;
  /** Ends the request's session, if it names one. Throws when Redis is down (the session then lives on). */
  end(req: Request): Promise<void>;
  /** The Set-Cookie value that stores `id` (HttpOnly, SameSite=Strict, Path=/; Secure over HTTPS). */
  cookie(id: string, secure: boolean): string;
  /** The Set-Cookie value that removes the session. */
  clearCookie(secure: boolean): string;
}

/** The value of cookie `name` in a Cookie header, if present. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * Sessions of `adminKey` in `sessions`. With no admin key no session is ever valid; with no store (an api run
 * without Redis) none can be made.
 */
export function consoleSessions(
  sessions: ConsoleSessionStore | undefined,
  adminKey: string | undefined,
): ConsoleSessions {
  const idOf = (req: Request): string | undefined => {
    const v = readCookie(req.headers.cookie, SESSION_COOKIE);
    return v !== undefined && SESSION_ID.test(v) ? v : undefined;
  };
  const attrs = (secure: boolean) => `HttpOnly; SameSite=Strict; Path=/${secure ? '; Secure' : ''}`;
  const store = (): ConsoleSessionStore => {
    if (sessions !== undefined) return sessions;
    throw new ServiceUnavailableError('console sessions are kept in Redis, and this api runs without it');
  };
  return {
    async create() {
      if (adminKey === undefined) throw new Error('console sessions need TTPUSH_ADMIN_KEY');
      const id = randomBytes(32).toString('base64url');
      await store().put(adminKey, id, SESSION_TTL_MS);
      return id;
    },
    async valid(req) {
      const id = idOf(req);
      if (adminKey === undefined || id === undefined) return false;
      return store().exists(adminKey, id);
    },
    presented(req) {
      return idOf(req) !== undefined;
    },
    async end(req) {
      const id = idOf(req);
      if (adminKey === undefined || id === undefined) return;
      await store().remove(adminKey, id);
    },
    cookie(id, secure) {
      return `${SESSION_COOKIE}=${id}; Max-Age=${SESSION_TTL_MS / 1000}; ${attrs(secure)}`;
    },
    clearCookie(secure) {
      return `${SESSION_COOKIE}=; Max-Age=0; ${attrs(secure)}`;
    },
  };
}
