/**
 * The console's browser sessions, kept in Redis so that they can be ended: the cookie holds only a random session id
 * (32 bytes, base64url), never the admin key. Redis holds, per session, one key that expires with it:
 *
 *   P:console:session:<admin key fingerprint>:<sha256 of the session id>   created_at (ms), PX SESSION_TTL_MS
 *
 * - Logout deletes the key: the cookie opens nothing any more, on every api process.
 * - The fingerprint (a hash of TTPUSH_ADMIN_KEY) is part of the key, so a changed admin key finds none of the old
 *   sessions: changing the key ends every session (they then expire unseen).
 * - Only a hash of the id is stored: a copy of Redis (a dump, a replica) opens no console.
 * - Redis down: checking or creating a session throws ServiceUnavailableError (the console's API answers 503
 *   redis_unavailable); the Bearer admin key needs no Redis.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Request } from 'express';
import type { Redis } from 'ioredis';
import { ServiceUnavailableError } from '@ttpush/store';

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

/** The part of a session's Redis key that names the admin key it was made with. */
export function adminKeyFingerprint(adminKey: string): string {
  return createHash('sha256').update(`ttpush console session\0${adminKey}`).digest('hex').slice(0, 32);
}

function unavailable(err: unknown): never {
  if (err instanceof ServiceUnavailableError) throw err;
  throw new ServiceUnavailableError(`console sessions: Redis is unavailable: ${(err as Error).message}`, {
    cause: err,
  });
}

/**
 * Sessions of `adminKey` in `redis` under `prefix`. With no admin key no session is ever valid; with no Redis
 * (an api run without it) none can be made.
 */
export function consoleSessions(
  redis: Redis | undefined,
  prefix: string,
  adminKey: string | undefined,
): ConsoleSessions {
  const base = adminKey === undefined ? undefined : `${prefix}:console:session:${adminKeyFingerprint(adminKey)}:`;
  const keyOf = (id: string) => `${base!}${createHash('sha256').update(id).digest('hex')}`;
  const idOf = (req: Request): string | undefined => {
    const v = readCookie(req.headers.cookie, SESSION_COOKIE);
    return v !== undefined && SESSION_ID.test(v) ? v : undefined;
  };
  const attrs = (secure: boolean) => `HttpOnly; SameSite=Strict; Path=/${secure ? '; Secure' : ''}`;
  const store = (): Redis => {
    if (redis !== undefined) return redis;
    throw new ServiceUnavailableError('console sessions are kept in Redis, and this api runs without it');
  };
  return {
    async create() {
      if (base === undefined) throw new Error('console sessions need TTPUSH_ADMIN_KEY');
      const id = randomBytes(32).toString('base64url');
      try {
        await store().set(keyOf(id), Date.now(), 'PX', SESSION_TTL_MS);
      } catch (err) {
        unavailable(err);
      }
      return id;
    },
    async valid(req) {
      const id = idOf(req);
      if (base === undefined || id === undefined) return false;
      try {
        return (await store().exists(keyOf(id))) === 1;
      } catch (err) {
        unavailable(err);
      }
    },
    presented(req) {
      return idOf(req) !== undefined;
    },
    async end(req) {
      const id = idOf(req);
      if (base === undefined || id === undefined) return;
      try {
        await store().del(keyOf(id));
      } catch (err) {
        unavailable(err);
      }
    },
    cookie(id, secure) {
      return `${SESSION_COOKIE}=${id}; Max-Age=${SESSION_TTL_MS / 1000}; ${attrs(secure)}`;
    },
    clearCookie(secure) {
      return `${SESSION_COOKIE}=; Max-Age=0; ${attrs(secure)}`;
    },
  };
}
