/**
 * App keys: who is calling and which sender ids it may use. Keys are compared as SHA-256 digests
 * with timingSafeEqual over every configured key, so neither a key's length nor its position in the
 * list shows in the response time. A key never appears in a log line or a response.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Config } from '@ttpush/config';
import type { Priority } from '@ttpush/core';
import { ApiError } from './errors.ts';
import { locals } from './locals.ts';

export interface AppIdentity {
  /** The key's name from configuration ("dev" for TTPUSH_DEV_APP_KEY): safe to log. */
  name: string;
  senders: ReadonlySet<number> | '*';
  /** The priority of this app's messages and batches when a request names none (app keys file `priority`). */
  priority: Priority;
}

export interface Keyring {
  /** The app a presented key belongs to, or null. */
  lookup(presented: string): AppIdentity | null;
}

/** The name the development key (TTPUSH_DEV_APP_KEY) goes by in logs and metrics. */
export const DEV_APP_NAME = 'dev';

function digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

export function createKeyring(config: Pick<Config, 'appKeys' | 'devAppKey'>): Keyring {
  const entries: { digest: Buffer; app: AppIdentity }[] = config.appKeys.map((k) => ({
    digest: digest(k.key),
    app: { name: k.name, senders: k.senders === '*' ? '*' : new Set(k.senders), priority: k.priority ?? 'normal' },
  }));
  if (config.devAppKey !== undefined) {
    entries.push({ digest: digest(config.devAppKey), app: { name: DEV_APP_NAME, senders: '*', priority: 'normal' } });
  }
  return {
    lookup(presented) {
      const d = digest(presented);
      let found: AppIdentity | null = null;
      // No early exit: every key is compared whichever matches.
      for (const e of entries) {
        if (timingSafeEqual(d, e.digest) && found === null) found = e.app;
      }
      return found;
    },
  };
}

export function maySendAs(app: AppIdentity, from: number): boolean {
  return app.senders === '*' || app.senders.has(from);
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** Requires `Authorization: Bearer <key>` naming a configured key; sets locals.app. */
export function bearerAuth(keyring: Keyring): RequestHandler {
  return (req, res, next) => {
    const header = req.headers.authorization;
    const challenge = { 'WWW-Authenticate': 'Bearer' };
    if (header === undefined || header === '') {
      throw new ApiError(
        'unauthorized',
        'the Authorization header is missing: send "Authorization: Bearer <your app key>"',
        null,
        challenge,
      );
    }
    const m = BEARER.exec(header);
    if (!m) {
      throw new ApiError(
        'unauthorized',
        'the Authorization header is not "Bearer <key>": send "Authorization: Bearer <your app key>"',
        null,
        challenge,
      );
    }
    const app = keyring.lookup(m[1]!);
    if (app === null) {
      throw new ApiError(
        'unauthorized',
        'the app key in the Authorization header is not known: use a key from the app keys file (TTPUSH_APP_KEYS_FILE) or the development key',
        null,
        challenge,
      );
    }
    locals(res).app = app;
    next();
  };
}
