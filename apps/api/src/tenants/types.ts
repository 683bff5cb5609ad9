/**
 * Tenants: apps and their keys, as stored in Redis and as the admin endpoints show them. An app's name
 * and a key's id are public (safe to log); a key's secret is shown once, at creation, and only its
 * SHA-256 is stored.
 */
import type { Priority } from '@ttpush/contract';

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

/** A key with its hash, as the keyring reads it (never leaves the api process). */
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

/** A refusal of the tenant store; the admin routes map `code` to an HTTP status. */
export class TenantError extends Error {
  override readonly name = 'TenantError';
  constructor(
    readonly code: TenantErrorCode,
    message: string,
  ) {
    super(message);
  }
}
