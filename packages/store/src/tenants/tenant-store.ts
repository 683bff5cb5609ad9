/**
 * The tenant store in Redis: apps, their keys, daily quotas, change notices and the audit log, in the layout of
 * contract's TenantKeys (hash fields APP_FIELDS, KEY_FIELDS). Every command touches one key, so the layout works on
 * a Redis Cluster. A worker reads through TenantReader only (an app's rate_limit).
 */
import type { Redis } from 'ioredis';
import { APP_FIELDS as A, KEY_FIELDS as K, TenantKeys, type Priority } from '@ttpush/contract';
import { ScriptError, ServiceUnavailableError } from '../errors.ts';
import { defineLuaScripts } from '../scripts-loader.ts';
import { appendAudit, readAudit, type AuditInput, type AuditPage, type AuditQuery } from './audit.ts';
import { newKeySecret } from './key-secret.ts';
import {
  TenantError,
  appNotFound,
  keyNotFound,
  parseApp,
  parseKey,
  publicKey,
  type AppRecord,
  type KeyRecord,
  type KeyScopes,
  type StoredKey,
} from './records.ts';
import { utcDay } from './utc-day.ts';

interface TenantCommands {
  ttTenantRevokeKey(key: string, at: number): Promise<number>;
  ttTenantTakeQuota(key: string, n: number, quota: number): Promise<number>;
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

/** What P:tn:changes carries: the key or the app whose cached copies api processes drop. */
export type TenantChange = `key:${string}` | `app:${string}`;

function unavailable(err: unknown): never {
  if (err instanceof ServiceUnavailableError || err instanceof TenantError) throw err;
  throw new ServiceUnavailableError(`Redis is unavailable: ${(err as Error).message}`, { cause: err });
}

/** The reads a worker needs of tenants. */
export class TenantReader {
  protected readonly keys: TenantKeys;

  constructor(
    protected readonly redis: Redis,
    readonly prefix: string,
  ) {
    this.keys = new TenantKeys(prefix);
  }

  /** An app's rate_limit (msg/s); undefined when it has none or there is no such app. Throws when Redis is down. */
  async appRateLimit(name: string): Promise<number | undefined> {
    let v: string | null;
    try {
      v = await this.redis.hget(this.keys.app(name), A.rateLimit);
    } catch (err) {
      unavailable(err);
    }
    return v === null || v === '' ? undefined : Number(v);
  }
}

export class TenantStore extends TenantReader {
  private readonly scripts: Redis & TenantCommands;
  /** The change-notice channel api processes subscribe to (TenantKeys.changesChannel). */
  readonly channel: string;

  constructor(redis: Redis, prefix: string) {
    super(redis, prefix);
    this.scripts = defineLuaScripts<TenantCommands>(redis, ['tenant-revoke-key', 'tenant-take-quota']);
    this.channel = this.keys.changesChannel;
  }

  async createApp(input: AppInput, now = Date.now()): Promise<AppRecord> {
    const key = this.keys.app(input.name);
    try {
      const created = await this.redis.hsetnx(key, A.createdAt, now);
      if (created === 0) {
        throw new TenantError('app_exists', `an app named '${input.name}' exists already: choose another name`);
      }
      const fields: Record<string, string | number> = { [A.priority]: input.priority ?? 'normal', [A.disabled]: '0' };
      if (input.rate_limit != null) fields[A.rateLimit] = input.rate_limit;
      if (input.daily_quota != null) fields[A.dailyQuota] = input.daily_quota;
      await this.redis.hset(key, fields);
      await this.redis.sadd(this.keys.apps, input.name);
    } catch (err) {
      unavailable(err);
    }
    return (await this.getApp(input.name))!;
  }

  async getApp(name: string): Promise<AppRecord | null> {
    try {
      return parseApp(name, await this.redis.hgetall(this.keys.app(name)));
    } catch (err) {
      unavailable(err);
    }
  }

  async listApps(): Promise<AppRecord[]> {
    let names: string[];
    try {
      names = (await this.redis.smembers(this.keys.apps)).sort();
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
    for (const [f, field] of [
      ['rate_limit', A.rateLimit],
      ['daily_quota', A.dailyQuota],
    ] as const) {
      if (patch[f] === null) del.push(field);
      else if (patch[f] !== undefined) set[field] = patch[f];
    }
    if (patch.priority !== undefined) set[A.priority] = patch.priority;
    if (patch.disabled !== undefined) set[A.disabled] = patch.disabled ? '1' : '0';
    try {
      if (Object.keys(set).length > 0) await this.redis.hset(this.keys.app(name), set);
      if (del.length > 0) await this.redis.hdel(this.keys.app(name), ...del);
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
      [K.app]: app,
      [K.hash]: hash.toString('hex'),
      [K.scopes]: JSON.stringify(scopes),
      [K.createdAt]: now,
    };
    if (rotatedFrom !== null) fields[K.rotatedFrom] = rotatedFrom;
    try {
      await this.redis.hset(this.keys.key(id), fields);
      await this.redis.sadd(this.keys.appKeys(app), id);
    } catch (err) {
      unavailable(err);
    }
    return { key: publicKey((await this.getKey(id))!), secret };
  }

  async getKey(id: string): Promise<StoredKey | null> {
    try {
      return parseKey(id, await this.redis.hgetall(this.keys.key(id)));
    } catch (err) {
      unavailable(err);
    }
  }

  /** The keys of one app, or of every app; oldest first. */
  async listKeys(app?: string): Promise<KeyRecord[]> {
    const apps = app !== undefined ? [app] : (await this.listApps()).map((a) => a.name);
    let ids: string[];
    try {
      ids = (await Promise.all(apps.map((a) => this.redis.smembers(this.keys.appKeys(a))))).flat();
    } catch (err) {
      unavailable(err);
    }
    const keys = (await Promise.all(ids.map((id) => this.getKey(id)))).filter((k): k is StoredKey => k !== null);
    return keys.map(publicKey).sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
  }

  /**
   * Makes the key stop working at `atMs`, or keeps an earlier revocation (lua/tenant-revoke-key-1.lua); announces
   * it to every api process. TenantError key_not_found when there is no such key.
   */
  async revokeKey(id: string, atMs = Date.now()): Promise<KeyRecord> {
    let r: number;
    try {
      r = await this.scripts.ttTenantRevokeKey(this.keys.key(id), atMs);
    } catch (err) {
      unavailable(err);
    }
    if (r === ScriptError.Missing) throw keyNotFound(id);
    await this.announce(`key:${id}`);
    return publicKey((await this.getKey(id))!);
  }

  /** Tells every api process (this one included) to drop what it cached of a key or an app. */
  async announce(change: TenantChange): Promise<void> {
    try {
      await this.redis.publish(this.channel, change);
    } catch (err) {
      unavailable(err);
    }
  }

  /**
   * Calls `onChange` with each change notice. `subscriber` is a connection of its own (a subscribed connection
   * serves nothing else); resolves once subscribed, rejects when the subscription fails.
   */
  async watchChanges(subscriber: Redis, onChange: (change: string) => void): Promise<void> {
    subscriber.on('message', (channel: string, change: string) => {
      if (channel === this.channel) onChange(change);
    });
    await subscriber.subscribe(this.channel);
  }

  /** Records a key's use; callers do it at most once a minute per key. Failures are ignored. */
  touch(id: string, now = Date.now()): void {
    this.redis.hset(this.keys.key(id), K.lastUsedAt, now).catch(() => undefined);
  }

  /**
   * Counts `n` messages on the app's current UTC day (lua/tenant-take-quota-1.lua); false (nothing counted) when
   * that passes `quota`.
   */
  async takeQuota(app: string, n: number, quota: number, now = Date.now()): Promise<boolean> {
    try {
      return (await this.scripts.ttTenantTakeQuota(this.keys.quota(app, utcDay(now)), n, quota)) === 1;
    } catch (err) {
      unavailable(err);
    }
  }

  /** Gives back `n` messages counted today (best effort: a failure leaves them counted). */
  async refundQuota(app: string, n: number, now = Date.now()): Promise<void> {
    await this.redis.decrby(this.keys.quota(app, utcDay(now)), n).catch(() => undefined);
  }

  async appendAudit(entry: AuditInput, now = Date.now()): Promise<string> {
    try {
      return await appendAudit(this.redis, this.keys.audit, entry, now);
    } catch (err) {
      unavailable(err);
    }
  }

  /** A page of the audit log, newest first (audit.ts readAudit). */
  async readAudit(q: AuditQuery): Promise<AuditPage> {
    try {
      return await readAudit(this.redis, this.keys.audit, q);
    } catch (err) {
      unavailable(err);
    }
  }
}
