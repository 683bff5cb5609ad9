/**
 * The tenant store in Redis. Every command touches one key, so the layout works on a Redis Cluster:
 *
 *   P:tn:apps              set     app names
 *   P:tn:app:<name>        hash    created_at (ms) · rate_limit · daily_quota · priority · disabled ('1')
 *   P:tn:keys:<app>        set     the app's key ids
 *   P:tn:key:<id>          hash    app · hash (hex SHA-256 of the secret part) · scopes (JSON) · created_at ·
 *                                  last_used_at · revoked_at (ms; in the future while a rotation's grace runs) ·
 *                                  rotated_from
 *   P:tn:quota:<app>:<day> int     messages accepted on a UTC day (YYYYMMDD), expires after two days
 *   P:tn:audit             stream  admin changes, capped at about AUDIT_MAX_ENTRIES
 *   P:tn:changes           channel `key:<id>` or `app:<name>`: api processes drop what they cached of it
 */
import type { Redis } from 'ioredis';
import { ServiceUnavailableError } from '@ttpush/store';
import { TenantKeys } from '@ttpush/contract';
import type { Priority } from '@ttpush/contract';
import { newKeySecret } from './secret.ts';
import {
  TenantError,
  type AppRecord,
  type AuditEntry,
  type KeyRecord,
  type KeyScopes,
  type StoredKey,
} from './types.ts';

export const AUDIT_MAX_ENTRIES = 10_000;
const QUOTA_TTL_S = 2 * 86_400;

/** KEYS: key hash. ARGV: when (ms). Sets revoked_at unless it is already earlier; -1: no such key. */
const REVOKE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local cur = redis.call('HGET', KEYS[1], 'revoked_at')
if cur and tonumber(cur) <= tonumber(ARGV[1]) then return tonumber(cur) end
redis.call('HSET', KEYS[1], 'revoked_at', ARGV[1])
return tonumber(ARGV[1])
`;

/** KEYS: the day's counter. ARGV: n, quota. Counts n messages unless that passes the quota: 1 taken, 0 refused. */
const TAKE_QUOTA = `
local n = redis.call('INCRBY', KEYS[1], ARGV[1])
if n == tonumber(ARGV[1]) then redis.call('EXPIRE', KEYS[1], ${QUOTA_TTL_S}) end
if n > tonumber(ARGV[2]) then
  redis.call('DECRBY', KEYS[1], ARGV[1])
  return 0
end
return 1
`;

interface TenantCommands {
  ttRevokeKey(key: string, at: number): Promise<number>;
  ttTakeQuota(key: string, n: number, quota: number): Promise<number>;
}

export interface AppInput {
  name: string;
  rate_limit?: number | null | undefined;
  daily_quota?: number | null | undefined;
  priority?: Priority | undefined;
}

export interface AppPatch {
  rate_limit?: number | null | undefined;
  daily_quota?: number | null | undefined;
  priority?: Priority | undefined;
  disabled?: boolean | undefined;
}

export type AuditInput = Omit<AuditEntry, 'id' | 'at' | 'who'>;

function unavailable(err: unknown): never {
  if (err instanceof ServiceUnavailableError || err instanceof TenantError) throw err;
  throw new ServiceUnavailableError(`Redis is unavailable: ${(err as Error).message}`, { cause: err });
}

const iso = (ms: string | undefined) => (ms === undefined || ms === '' ? null : new Date(Number(ms)).toISOString());
const optNum = (v: string | undefined) => (v === undefined || v === '' ? null : Number(v));

function parseApp(name: string, h: Record<string, string>): AppRecord | null {
  if (!h.created_at) return null;
  return {
    name,
    created_at: iso(h.created_at)!,
    rate_limit: optNum(h.rate_limit),
    daily_quota: optNum(h.daily_quota),
    priority: (h.priority as Priority) || 'normal',
    disabled: h.disabled === '1',
  };
}

/** A key's scopes as stored; keys stored before a scope existed lack it, and it is false for them. */
function parseScopes(json: string | undefined): KeyScopes {
  const s = JSON.parse(json ?? '{}') as Partial<KeyScopes>;
  return { ...s, manage_webhooks: s.manage_webhooks ?? false } as KeyScopes;
}

function parseKey(id: string, h: Record<string, string>): StoredKey | null {
  if (!h.app || !h.hash) return null;
  return {
    id,
    app: h.app,
    scopes: parseScopes(h.scopes),
    created_at: iso(h.created_at)!,
    last_used_at: iso(h.last_used_at),
    revoked_at: iso(h.revoked_at),
    rotated_from: h.rotated_from || null,
    hash: Buffer.from(h.hash, 'hex'),
  };
}

/** The public view of a stored key: everything but the hash. */
export function publicKey(k: StoredKey): KeyRecord {
  const { hash: _hash, ...rest } = k;
  return rest;
}

/** YYYYMMDD of the UTC day of `ms`. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');
}

/** Whole seconds from `ms` to the next UTC midnight (≥ 1). */
export function secondsToUtcMidnight(ms: number): number {
  const d = new Date(ms);
  const next = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
  return Math.max(1, Math.ceil((next - ms) / 1000));
}

export class TenantStore {
  private readonly redis: Redis & TenantCommands;
  readonly channel: string;

  constructor(
    redis: Redis,
    readonly prefix: string,
  ) {
    if (!('ttRevokeKey' in redis)) {
      redis.defineCommand('ttRevokeKey', { numberOfKeys: 1, lua: REVOKE });
      redis.defineCommand('ttTakeQuota', { numberOfKeys: 1, lua: TAKE_QUOTA });
    }
    this.redis = redis as Redis & TenantCommands;
    this.channel = `${prefix}:tn:changes`;
  }

  private appKey(name: string): string {
    return new TenantKeys(this.prefix).app(name);
  }
  private keyKey(id: string): string {
    return `${this.prefix}:tn:key:${id}`;
  }
  private appKeysKey(app: string): string {
    return `${this.prefix}:tn:keys:${app}`;
  }
  private get appsKey(): string {
    return `${this.prefix}:tn:apps`;
  }
  private get auditKey(): string {
    return `${this.prefix}:tn:audit`;
  }

  async createApp(input: AppInput, now = Date.now()): Promise<AppRecord> {
    try {
      const created = await this.redis.hsetnx(this.appKey(input.name), 'created_at', now);
      if (created === 0) {
        throw new TenantError('app_exists', `an app named '${input.name}' exists already: choose another name`);
      }
      const fields: Record<string, string | number> = { priority: input.priority ?? 'normal', disabled: '0' };
      if (input.rate_limit != null) fields.rate_limit = input.rate_limit;
      if (input.daily_quota != null) fields.daily_quota = input.daily_quota;
      await this.redis.hset(this.appKey(input.name), fields);
      await this.redis.sadd(this.appsKey, input.name);
    } catch (err) {
      unavailable(err);
    }
    return (await this.getApp(input.name))!;
  }

  async getApp(name: string): Promise<AppRecord | null> {
    try {
      return parseApp(name, await this.redis.hgetall(this.appKey(name)));
    } catch (err) {
      unavailable(err);
    }
  }

  async listApps(): Promise<AppRecord[]> {
    let names: string[];
    try {
      names = (await this.redis.smembers(this.appsKey)).sort();
    } catch (err) {
      unavailable(err);
    }
    const apps = await Promise.all(names.map((n) => this.getApp(n)));
    return apps.filter((a): a is AppRecord => a !== null);
  }

  async updateApp(name: string, patch: AppPatch): Promise<AppRecord> {
    if ((await this.getApp(name)) === null) throw appNotFound(name);
    const set: Record<string, string | number> = {};
    const del: string[] = [];
    for (const f of ['rate_limit', 'daily_quota'] as const) {
      if (patch[f] === null) del.push(f);
      else if (patch[f] !== undefined) set[f] = patch[f];
    }
    if (patch.priority !== undefined) set.priority = patch.priority;
    if (patch.disabled !== undefined) set.disabled = patch.disabled ? '1' : '0';
    try {
      if (Object.keys(set).length > 0) await this.redis.hset(this.appKey(name), set);
      if (del.length > 0) await this.redis.hdel(this.appKey(name), ...del);
    } catch (err) {
      unavailable(err);
    }
    return (await this.getApp(name))!;
  }

  /** A new key of `app`; the secret is in the answer and nowhere else. */
  async createKey(
    app: string,
    scopes: KeyScopes,
    rotatedFrom: string | null = null,
    now = Date.now(),
  ): Promise<{ key: KeyRecord; secret: string }> {
    if ((await this.getApp(app)) === null) throw appNotFound(app);
    const { id, secret, hash } = newKeySecret();
    const fields: Record<string, string | number> = {
      app,
      hash: hash.toString('hex'),
      scopes: JSON.stringify(scopes),
      created_at: now,
    };
    if (rotatedFrom !== null) fields.rotated_from = rotatedFrom;
    try {
      await this.redis.hset(this.keyKey(id), fields);
      await this.redis.sadd(this.appKeysKey(app), id);
    } catch (err) {
      unavailable(err);
    }
    return { key: publicKey((await this.getKey(id))!), secret };
  }

  async getKey(id: string): Promise<StoredKey | null> {
    try {
      return parseKey(id, await this.redis.hgetall(this.keyKey(id)));
    } catch (err) {
      unavailable(err);
    }
  }

  /** The keys of one app, or of every app; oldest first. */
  async listKeys(app?: string): Promise<KeyRecord[]> {
    const apps = app !== undefined ? [app] : (await this.listApps()).map((a) => a.name);
    let ids: string[];
    try {
      ids = (await Promise.all(apps.map((a) => this.redis.smembers(this.appKeysKey(a))))).flat();
    } catch (err) {
      unavailable(err);
    }
    const keys = (await Promise.all(ids.map((id) => this.getKey(id)))).filter((k): k is StoredKey => k !== null);
    return keys.map(publicKey).sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
  }

  /** Makes the key stop working at `atMs` (or keeps an earlier revocation); announces it to every api process. */
  async revokeKey(id: string, atMs = Date.now()): Promise<KeyRecord> {
    let r: number;
    try {
      r = await this.redis.ttRevokeKey(this.keyKey(id), atMs);
    } catch (err) {
      unavailable(err);
    }
    if (r === -1) throw keyNotFound(id);
    await this.announce(`key:${id}`);
    return publicKey((await this.getKey(id))!);
  }

  /** Tells every api process (this one included) to drop what it cached of a key or an app. */
  async announce(change: `key:${string}` | `app:${string}`): Promise<void> {
    try {
      await this.redis.publish(this.channel, change);
    } catch (err) {
      unavailable(err);
    }
  }

  /** Records a key's use; callers do it at most once a minute per key. Failures are ignored. */
  touch(id: string, now = Date.now()): void {
    this.redis.hset(this.keyKey(id), 'last_used_at', now).catch(() => undefined);
  }

  /** Counts `n` messages on the app's current UTC day; false (nothing counted) when that passes `quota`. */
  async takeQuota(app: string, n: number, quota: number, now = Date.now()): Promise<boolean> {
    try {
      return (await this.redis.ttTakeQuota(`${this.prefix}:tn:quota:${app}:${utcDay(now)}`, n, quota)) === 1;
    } catch (err) {
      unavailable(err);
    }
  }

  async refundQuota(app: string, n: number, now = Date.now()): Promise<void> {
    await this.redis.decrby(`${this.prefix}:tn:quota:${app}:${utcDay(now)}`, n).catch(() => undefined);
  }

  async appendAudit(entry: AuditInput, now = Date.now()): Promise<string> {
    try {
      const id = await this.redis.xadd(
        this.auditKey,
        'MAXLEN',
        '~',
        AUDIT_MAX_ENTRIES,
        '*',
        'at',
        now,
        'action',
        entry.action,
        'app',
        entry.app ?? '',
        'key_id',
        entry.key_id ?? '',
        'changes',
        JSON.stringify(entry.changes),
        'request_id',
        entry.request_id ?? '',
      );
      return id!;
    } catch (err) {
      unavailable(err);
    }
  }

  /**
   * Audit entries, newest first, from before `cursor` (an entry id) if given. With `app`, entries of other
   * apps are skipped; a page may then be short, and next_cursor says where to go on (null: the end).
   */
  async readAudit(q: {
    app?: string | undefined;
    cursor?: string | undefined;
    limit: number;
  }): Promise<{ entries: AuditEntry[]; next_cursor: string | null }> {
    const entries: AuditEntry[] = [];
    let end = q.cursor === undefined ? '+' : `(${q.cursor}`;
    // With a filter, at most this many entries are read per page.
    let budget = q.app === undefined ? q.limit : Math.max(q.limit, 2000);
    let last: string | null = null;
    let exhausted = false;
    while (entries.length < q.limit && budget > 0) {
      const count = Math.min(budget, q.app === undefined ? q.limit - entries.length : 200);
      let rows: [string, string[]][];
      try {
        rows = await this.redis.xrevrange(this.auditKey, end, '-', 'COUNT', count);
      } catch (err) {
        unavailable(err);
      }
      budget -= rows.length;
      for (const [id, flat] of rows) {
        last = id;
        const f: Record<string, string> = {};
        for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!;
        if (q.app !== undefined && f.app !== q.app) continue;
        entries.push({
          id,
          at: new Date(Number(f.at)).toISOString(),
          who: 'admin',
          action: f.action ?? '',
          app: f.app || null,
          key_id: f.key_id || null,
          changes: JSON.parse(f.changes || '{}') as Record<string, unknown>,
          request_id: f.request_id || null,
        });
        if (entries.length === q.limit) break;
      }
      if (rows.length < count) {
        // The stream's end was read; it is exhausted only if the page did not fill before its last row.
        exhausted = rows.length === 0 || last === rows[rows.length - 1]![0];
        break;
      }
      end = `(${last}`;
    }
    return { entries, next_cursor: exhausted || last === null ? null : last };
  }
}

export function appNotFound(name: string): TenantError {
  return new TenantError('app_not_found', `there is no app named '${name}': create it first, or check the name`);
}

export function keyNotFound(id: string): TenantError {
  return new TenantError('key_not_found', `there is no key with id '${id}': list the app's keys to find its id`);
}
