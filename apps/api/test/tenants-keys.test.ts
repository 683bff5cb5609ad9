/** The Redis-backed keyring (cache, revocation notices, grace), and the daily quota's refusal. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { TenantStore, consumerRedis, parsePresented, producerRedis, type KeyScopes } from '@ttpush/store';
import { RedisServer } from '@ttpush/testkit';
import { createKeyring } from '../src/auth.ts';
import { ApiError } from '../src/errors.ts';
import { TenantKeyring } from '../src/tenants/keyring.ts';
import { chargeDailyQuota } from '../src/tenants/quota.ts';

const SCOPES: KeyScopes = {
  senders: [1001],
  groups: [7],
  batches: false,
  manage_groups: false,
  read_all: false,
  manage_webhooks: false,
};

describe('tenant keyring over Redis', () => {
  let server: RedisServer;
  const conns: Redis[] = [];
  let store: TenantStore;
  /** Two api processes' keyrings, each with its own notice subscription. */
  let a: TenantKeyring;
  let b: TenantKeyring;
  let clock = Date.now();
  const logger = pino({ level: 'silent' });

  before(async () => {
    server = await RedisServer.start();
    const redis = producerRedis(server.url);
    conns.push(redis);
    await new Promise((r) => redis.once('ready', r));
    store = new TenantStore(redis, 'tk');
    const subA = consumerRedis(server.url);
    const subB = consumerRedis(server.url);
    conns.push(subA, subB);
    a = new TenantKeyring(store, 60_000, () => clock);
    b = new TenantKeyring(store, 60_000, () => clock);
    await a.listen(subA, logger);
    await b.listen(subB, logger);
  });

  after(async () => {
    for (const c of conns) c.disconnect();
    await server.stop();
  });

  const lookup = (k: TenantKeyring, secret: string) => {
    const p = parsePresented(secret)!;
    return k.lookup(p.id, p.part);
  };

  /** Until `check` holds (a pub/sub notice is a few ms away; the cache TTL here is 60 s, so only a notice can do it). */
  async function eventually(check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (!(await check())) {
      if (Date.now() > deadline) assert.fail('condition not reached within 20 s');
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  it('finds a key by its secret with the scopes and app settings it was created with', async () => {
    await store.createApp({ name: 'crm', rate_limit: 5, daily_quota: 100, priority: 'low' });
    const { key, secret } = await store.createKey('crm', SCOPES);
    const id = (await lookup(a, secret))!;
    assert.equal(id.name, 'crm');
    assert.equal(id.keyId, key.id);
    assert.deepEqual([...(id.senders as Set<number>)], [1001]);
    assert.deepEqual([...(id.groups as Set<number>)], [7]);
    assert.deepEqual([id.batches, id.manageGroups, id.readAll], [false, false, false]);
    assert.deepEqual([id.rateLimit, id.dailyQuota, id.priority], [5, 100, 'low']);
    const wrong = parsePresented(secret)!;
    assert.equal(
      await a.lookup(
        wrong.id,
        wrong.part.replace(/^./, (c) => (c === 'x' ? 'y' : 'x')),
      ),
      null,
    );
  });

  it('records when a key was last used', async () => {
    await store.createApp({ name: 'used' });
    const { key, secret } = await store.createKey('used', SCOPES);
    assert.equal(key.last_used_at, null);
    assert.ok(await lookup(a, secret));
    await eventually(async () => (await store.getKey(key.id))?.last_used_at !== null);
  });

  it('a revocation on one process is refused at once on another that had the key cached', async () => {
    await store.createApp({ name: 'rev' });
    const { key, secret } = await store.createKey('rev', SCOPES);
    assert.ok(await lookup(b, secret), 'cached on b');
    await store.revokeKey(key.id, clock);
    // b's cache TTL is a minute here: only the notice can make it refuse.
    await eventually(async () => (await lookup(b, secret)) === null);
    assert.equal(await lookup(a, secret), null);
  });

  it('a key revoked with a grace period works until the grace ends, even while cached', async () => {
    await store.createApp({ name: 'grace' });
    const { key, secret } = await store.createKey('grace', SCOPES);
    await store.revokeKey(key.id, clock + 30_000);
    await eventually(async () => (await lookup(a, secret)) !== null);
    clock += 29_000;
    assert.ok(await lookup(a, secret));
    clock += 2000;
    assert.equal(await lookup(a, secret), null);
    // A later revocation with "now" overrides the grace; an earlier one is kept.
    const kept = await store.revokeKey(key.id, clock + 100_000);
    assert.ok(Date.parse(kept.revoked_at!) <= clock);
  });

  it('disabling an app refuses its keys on every process at once; enabling lets them in again', async () => {
    await store.createApp({ name: 'dis' });
    const { secret } = await store.createKey('dis', SCOPES);
    assert.ok(await lookup(b, secret));
    await store.updateApp('dis', { disabled: true });
    await store.announce('app:dis');
    await eventually(async () => (await lookup(b, secret)) === null);
    await store.updateApp('dis', { disabled: false, rate_limit: 9 });
    await store.announce('app:dis');
    await eventually(async () => (await lookup(b, secret))?.rateLimit === 9);
  });

  it('the combined keyring sends ttpk_ keys to Redis and everything else to the configuration keys', async () => {
    await store.createApp({ name: 'both' });
    const { secret } = await store.createKey('both', SCOPES);
    const keyring = createKeyring({ appKeys: [], devAppKey: 'dev-secret-key' }, a);
    assert.equal((await keyring.lookup(secret))?.name, 'both');
    assert.equal((await keyring.lookup('dev-secret-key'))?.name, 'dev');
    assert.equal(await keyring.lookup('ttpk_key_0000000000000000_' + 'a'.repeat(43)), null);
  });

  it('a daily quota over its count refuses with 429 quota_exceeded until the next UTC midnight', async () => {
    const app = { name: 'q2', dailyQuota: 1 } as Parameters<typeof chargeDailyQuota>[1];
    await chargeDailyQuota(store, app, 1);
    await assert.rejects(chargeDailyQuota(store, app, 1), (err: ApiError) => {
      assert.equal(err.code, 'quota_exceeded');
      assert.equal(err.status, 429);
      const retry = Number(err.headers['Retry-After']);
      assert.ok(retry >= 1 && retry <= 86_400, String(retry));
      assert.match(err.message, /daily_quota/);
      return true;
    });
  });
});
