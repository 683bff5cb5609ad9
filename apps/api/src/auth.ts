/**
 * App keys: who is calling and what the key may do. Two sources: keys from configuration
 * (TTPUSH_APP_KEYS_FILE and TTPUSH_DEV_APP_KEY, with today's full rights but their senders list), and
 * tenant keys stored in Redis (`ttpk_...`, tenants/keyring.ts). Configuration keys are compared as
 * SHA-256 digests with timingSafeEqual over every configured key, so neither a key's length nor its
 * position in the list shows in the response time. A key never appears in a log line or a response.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Config } from '@ttpush/config';
import type { Priority } from '@ttpush/contract';
import { ApiError } from './errors.ts';
import { locals } from './locals.ts';
import { parsePresented } from '@ttpush/store';

export interface AppIdentity {
  /** The app's name ("dev" for TTPUSH_DEV_APP_KEY): safe to log. */
  name: string;
  /** The key's public id: `key_...` for a tenant key, `config:<name>` for a configuration key. Safe to log. */
  keyId: string;
  senders: ReadonlySet<number> | '*';
  /** Groups the key may send to and manage. */
  groups: ReadonlySet<number> | '*';
  /** Scopes: batches, group administration, reading the app's other keys' messages and batches. */
  batches: boolean;
  manageGroups: boolean;
  readAll: boolean;
  /** May manage and read the app's webhooks (endpoints, deliveries, callback secret): app-wide, like read_all. */
  manageWebhooks: boolean;
  /** The priority of this app's messages and batches when a request names none. */
  priority: Priority;
  /** Messages per second for the whole app; undefined: no limit. */
  rateLimit: number | undefined;
  /** Messages per UTC day for the whole app; undefined: no quota. */
  dailyQuota: number | undefined;
}

export interface Keyring {
  /** The app a presented key belongs to, or null. Throws ServiceUnavailableError when Redis is needed and down. */
  lookup(presented: string): Promise<AppIdentity | null>;
}

/** Looks up tenant keys (`ttpk_...`), see tenants/keyring.ts. */
export interface TenantLookup {
  lookup(id: string, part: string): Promise<AppIdentity | null>;
}

/** The name the development key (TTPUSH_DEV_APP_KEY) goes by in logs and metrics. */
export const DEV_APP_NAME = 'dev';

/** The key id of a configuration key, as logs show it. */
export function configKeyId(name: string): string {
  return `config:${name}`;
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** Key strings whose digest is kept: a caller presents the same key request after request. */
const DIGEST_CACHE_MAX = 256;
/** Longer strings are not kept (no real key is this long): a flood of junk keys cannot pin much memory. */
const DIGEST_CACHE_MAX_KEY = 256;
const digests = new Map<string, Buffer>();

/**
 * SHA-256 of a presented key (or a tenant key's secret part), from a small bounded cache of the strings seen lately.
 * Only the digest is kept, never what a lookup found: a revoked key or a disabled app is refused at once as before.
 */
export function keyDigest(key: string): Buffer {
  let d = digests.get(key);
  if (d !== undefined) return d;
  d = digest(key);
  if (key.length <= DIGEST_CACHE_MAX_KEY) {
    // Full: the oldest entry goes (a Map iterates in insertion order).
    if (digests.size >= DIGEST_CACHE_MAX) digests.delete(digests.keys().next().value!);
    digests.set(key, d);
  }
  return d;
}

function configIdentity(name: string, senders: readonly number[] | '*', priority: Priority, rateLimit?: number) {
  return {
    name,
    keyId: configKeyId(name),
    senders: senders === '*' ? ('*' as const) : new Set(senders),
    groups: '*' as const,
    batches: true,
    manageGroups: true,
    readAll: true,
    // A configuration key is its app's only key: its webhooks carry nobody else's messages.
    manageWebhooks: true,
    priority,
    rateLimit,
    dailyQuota: undefined,
  } satisfies AppIdentity;
}

export function createKeyring(
  config: Pick<Config, 'appKeys' | 'devAppKey'> & Partial<Pick<Config, 'devRateLimit'>>,
  tenants?: TenantLookup,
): Keyring {
  const entries: { digest: Buffer; app: AppIdentity }[] = config.appKeys.map((k) => ({
    digest: digest(k.key),
    app: configIdentity(k.name, k.senders, k.priority ?? 'normal', k.rateLimit),
  }));
  if (config.devAppKey !== undefined) {
    entries.push({
      digest: digest(config.devAppKey),
      app: configIdentity(DEV_APP_NAME, '*', 'normal', config.devRateLimit),
    });
  }
  return {
    async lookup(presented) {
      const tenant = tenants === undefined ? null : parsePresented(presented);
      if (tenant !== null) return tenants!.lookup(tenant.id, tenant.part);
      const d = keyDigest(presented);
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

export function maySendToGroup(app: AppIdentity, group: number): boolean {
  return app.groups === '*' || app.groups.has(group);
}

export type Scope = 'batches' | 'manage_groups' | 'read_all' | 'manage_webhooks';

export function hasScope(app: AppIdentity, scope: Scope): boolean {
  switch (scope) {
    case 'batches':
      return app.batches;
    case 'manage_groups':
      return app.manageGroups;
    case 'read_all':
      return app.readAll;
    case 'manage_webhooks':
      // Webhooks see every key's messages of the app: a key that may read them all may manage them too.
      return app.manageWebhooks || app.readAll;
  }
}

/** 403 forbidden_scope naming the scope the key lacks. */
export function requireScope(app: AppIdentity, scope: Scope, what: string): void {
  if (hasScope(app, scope)) return;
  throw new ApiError(
    'forbidden_scope',
    `the key ${app.keyId} of app '${app.name}' lacks the '${scope}' scope, which ${what} needs: use a key with it${scope === 'manage_webhooks' ? ' (or with read_all)' : ''}, or create one (ttpush admin keys create --app ${app.name} --${scope.replace('_', '-')})`,
  );
}

/** 403 forbidden_group when `group` is outside the key's groups. */
export function requireGroup(app: AppIdentity, group: number, field: string): void {
  if (maySendToGroup(app, group)) return;
  throw new ApiError(
    'forbidden_group',
    `${field} is group ${group}, which the key ${app.keyId} of app '${app.name}' may not use: use a group listed in the key's groups scope`,
    field,
  );
}

/** 403 forbidden_sender when `from` is outside the key's senders. */
export function requireSender(app: AppIdentity, from: number, field: string): void {
  if (maySendAs(app, from)) return;
  throw new ApiError(
    'forbidden_sender',
    `${field} is ${from}, a user this app key may not send as: use a sender id listed for the key ${app.keyId} of app '${app.name}'`,
    field,
  );
}

/**
 * Whether the caller may see a message or batch sent by `owner`: the same app, and the same key unless
 * the caller has read_all. Anything else answers as if it did not exist (404).
 */
export function mayRead(app: AppIdentity, owner: { app: string; key: string | null }): boolean {
  if (owner.app !== app.name) return false;
  // Records from before keys were recorded carry none: any key of the app may read them.
  return app.readAll || owner.key === null || owner.key === app.keyId;
}

/**
 * The Idempotency-Key as stored (its scope is the app): a key without read_all gets a scope of its own, so a
 * repeat cannot answer with another key's message or batch it may not read.
 */
export function scopedIdempotencyKey(app: AppIdentity, key: string | undefined): string | undefined {
  return key === undefined || app.readAll ? key : `${app.keyId}:${key}`;
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** Where a caller finds the current development key: what a 401 says after a restart or a forgotten export. */
export const DEV_KEY_HINT =
  '`ttpush start` (npm start) prints the development key at each start and keeps it in keys.json of its data folder (TTPUSH_DATA_DIR, default .ttpush): export TTPUSH_API_KEY=<that key>';

/** Requires `Authorization: Bearer <key>` naming a known key; sets locals.app. */
export function bearerAuth(keyring: Keyring): RequestHandler {
  return (req, res, next) => {
    const header = req.headers.authorization;
    const challenge = { 'WWW-Authenticate': 'Bearer' };
    if (header === undefined || header === '') {
      throw new ApiError(
        'unauthorized',
        `the Authorization header is missing: send "Authorization: Bearer <your app key>"; ${DEV_KEY_HINT}`,
        null,
        challenge,
      );
    }
    const m = BEARER.exec(header);
    if (!m) {
      throw new ApiError(
        'unauthorized',
        `the Authorization header is not "Bearer <key>": send "Authorization: Bearer <your app key>"; ${DEV_KEY_HINT}`,
        null,
        challenge,
      );
    }
    keyring.lookup(m[1]!).then((app) => {
      if (app === null) {
        next(
          new ApiError(
            'unauthorized',
            `the app key in the Authorization header is not known, revoked, or its app is disabled: use a current key (ttpush admin keys list), one from the app keys file (TTPUSH_APP_KEYS_FILE) or the development key; ${DEV_KEY_HINT}`,
            null,
            challenge,
          ),
        );
        return;
      }
      locals(res).app = app;
      next();
    }, next);
  };
}
