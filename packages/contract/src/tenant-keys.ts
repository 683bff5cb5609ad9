/**
 * Redis layout of tenants (store tenants/tenant-store.ts reads and writes it: the api's keys and limits, and an
 * app's rate_limit, which workers read through TenantReader to pace its batches). Every command touches one key, so the layout works on a Redis Cluster:
 *
 *   P:tn:apps              set     app names
 *   P:tn:app:<name>        hash    APP_FIELDS
 *   P:tn:keys:<app>        set     the app's key ids
 *   P:tn:key:<id>          hash    KEY_FIELDS
 *   P:tn:quota:<app>:<day> int     messages accepted on a UTC day (YYYYMMDD), expires after two days
 *   P:tn:audit             stream  admin changes, capped
 *   P:tn:changes           channel `key:<id>` or `app:<name>`: api processes drop what they cached of it
 */
export class TenantKeys {
  constructor(readonly prefix: string) {}
  get apps(): string {
    return `${this.prefix}:tn:apps`;
  }
  app(name: string): string {
    return `${this.prefix}:tn:app:${name}`;
  }
  appKeys(app: string): string {
    return `${this.prefix}:tn:keys:${app}`;
  }
  key(id: string): string {
    return `${this.prefix}:tn:key:${id}`;
  }
  quota(app: string, day: string): string {
    return `${this.prefix}:tn:quota:${app}:${day}`;
  }
  get audit(): string {
    return `${this.prefix}:tn:audit`;
  }
  get changesChannel(): string {
    return `${this.prefix}:tn:changes`;
  }
}

/** Fields of an app's hash: created_at (ms) · rate_limit (msg/s) · daily_quota · priority · disabled ('1'). */
export const APP_FIELDS = {
  createdAt: 'created_at',
  rateLimit: 'rate_limit',
  dailyQuota: 'daily_quota',
  priority: 'priority',
  disabled: 'disabled',
} as const;

/**
 * Fields of a key's hash: app · hash (hex SHA-256 of the secret part) · scopes (JSON) · created_at · last_used_at ·
 * revoked_at (ms; in the future while a rotation's grace runs) · rotated_from.
 */
export const KEY_FIELDS = {
  app: 'app',
  hash: 'hash',
  scopes: 'scopes',
  createdAt: 'created_at',
  lastUsedAt: 'last_used_at',
  revokedAt: 'revoked_at',
  rotatedFrom: 'rotated_from',
} as const;
