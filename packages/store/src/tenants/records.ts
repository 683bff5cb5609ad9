/**
 * Tenants: apps and their keys, as stored in Redis (fields: contract's APP_FIELDS, KEY_FIELDS) and as the admin
 * endpoints show them. An app's name and a key's id are public (safe to log); a key's secret is shown once, at
 * creation, and only its SHA-256 is stored.
 */
import { APP_FIELDS as A, KEY_FIELDS as K, type Priority } from '@ttpush/contract';

/** Which ids a scope allows: a list, or every id. */
export type IdScope = readonly number[] | '*';

export interface KeyScopes {
  /** Sender user ids the key may send as (and act as in group administration). */
  senders: IdScope;
  /** Groups the key may send to (and manage, with manage_groups). */
  groups: IdScope;
  /** May create batches (POST /v1/batches). */
  batches: boolean;
  /** May create groups and change their members (/v1/groups, /query/CreateGroup, /query/ChangeMembers). */
  manage_groups: boolean;
  /** May read and act on messages and batches sent with the app's other keys. */
  read_all: boolean;
  /**
   * May manage and read the app's webhooks: endpoints, deliveries and the callback secret. They are app-wide (an
   * endpoint receives every key's messages), so read_all allows it too. Absent in keys made before the scope: false.
   */
  manage_webhooks: boolean;
}

export interface AppRecord {
  name: string;
  created_at: string;
  /** Messages per second over every key of the app; null: no limit. */
  rate_limit: number | null;
  /** Messages per UTC day; null: no quota. */
  daily_quota: number | null;
  /** The priority of the app's messages when a request names none. */
  priority: Priority;
  disabled: boolean;
}

export interface KeyRecord {
  id: string;
  app: string;
  scopes: KeyScopes;
  created_at: string;
  /** Updated at most once a minute per api process. */
  last_used_at: string | null;
  /** When the key stops (stopped) working; in the future while a rotation's grace runs. */
  revoked_at: string | null;
  /** The key this one replaced by rotation, if any. */
  rotated_from: string | null;
}

/** A key with its hash, as the api's keyring reads it (never leaves the api process). */
export interface StoredKey extends KeyRecord {
  hash: Buffer;
}

export interface AuditEntry {
  /** The stream entry id: the cursor of GET /v1/admin/audit. */
  id: string;
  at: string;
  who: 'admin';
  action: string;
  app: string | null;
  key_id: string | null;
  /** The fields the change set, without secrets. */
  changes: Record<string, unknown>;
  request_id: string | null;
}

export type TenantErrorCode = 'app_exists' | 'app_not_found' | 'key_not_found' | 'key_revoked';

/** A refusal of the tenant store; the api's admin routes map `code` to an HTTP status. */
export class TenantError extends Error {
  override readonly name = 'TenantError';
  constructor(
    readonly code: TenantErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function appNotFound(name: string): TenantError {
  return new TenantError('app_not_found', `there is no app named '${name}': create it first, or check the name`);
}

export function keyNotFound(id: string): TenantError {
  return new TenantError('key_not_found', `there is no key with id '${id}': list the app's keys to find its id`);
}

const iso = (ms: string | undefined) => (ms === undefined || ms === '' ? null : new Date(Number(ms)).toISOString());
const optNum = (v: string | undefined) => (v === undefined || v === '' ? null : Number(v));

/** An app's hash as a record; null when it has no created_at (no such app). */
export function parseApp(name: string, h: Record<string, string>): AppRecord | null {
  if (!h[A.createdAt]) return null;
  return {
    name,
    created_at: iso(h[A.createdAt])!,
    rate_limit: optNum(h[A.rateLimit]),
    daily_quota: optNum(h[A.dailyQuota]),
    priority: (h[A.priority] as Priority) || 'normal',
    disabled: h[A.disabled] === '1',
  };
}

/** A key's scopes as stored; keys stored before a scope existed lack it, and it is false for them. */
function parseScopes(json: string | undefined): KeyScopes {
  const s = JSON.parse(json ?? '{}') as Partial<KeyScopes>;
  return { ...s, manage_webhooks: s.manage_webhooks ?? false } as KeyScopes;
}

/** A key's hash as a record; null when it has no app or hash (no such key). */
export function parseKey(id: string, h: Record<string, string>): StoredKey | null {
  const app = h[K.app];
  const hash = h[K.hash];
  if (!app || !hash) return null;
  return {
    id,
    app,
    scopes: parseScopes(h[K.scopes]),
    created_at: iso(h[K.createdAt])!,
    last_used_at: iso(h[K.lastUsedAt]),
    revoked_at: iso(h[K.revokedAt]),
    rotated_from: h[K.rotatedFrom] || null,
    hash: Buffer.from(hash, 'hex'),
  };
}

/** The public view of a stored key: everything but the hash. */
export function publicKey(k: StoredKey): KeyRecord {
  const { hash: _hash, ...rest } = k;
  return rest;
}
