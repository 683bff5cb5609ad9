/** The tenant store in a real redis-server: key secrets, apps and keys, revocations, daily quotas, the audit log. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisServer } from '@ttpush/testkit';
import {
  TenantReader,
  TenantStore,
  hashSecret,
  newKeySecret,
  parsePresented,
  secondsToUtcMidnight,
  secretMatches,
  utcDay,
  type KeyScopes,
} from '../../src/index.ts';

const SCOPES: KeyScopes = {
  senders: [1001],
  groups: [7],
  batches: false,
  manage_groups: false,
  read_all: false,
  manage_webhooks: false,
};

describe('key secrets', () => {
  it('name their key id and hash only the secret part', () => {
    const { id, secret, hash } = newKeySecret();
    const p = parsePresented(secret)!;
    assert.equal(p.id, id);
    assert.match(id, /^key_[0-9a-f]{16}$/);
    assert.ok(!secret.includes(hash.toString('hex')));
    assert.equal(secretMatches(p.part, hash), true);
    assert.equal(secretMatches(p.part.slice(0, -1) + (p.part.endsWith('A') ? 'B' : 'A'), hash), false);
    assert.equal(secretMatches(p.part, hashSecret('other')), false);
    assert.equal(secretMatches(p.part, Buffer.alloc(3)), false);
  });

  it('refuse shapes that are not ttpk_<key id>_<43 characters>', () => {
    const { secret } = newKeySecret();
    for (const bad of ['', 'ttpk_', secret.slice(0, -1), `${secret}x`, secret.replace('ttpk_', 'TTPK_'), 'dev-key']) {
      assert.equal(parsePresented(bad), null, bad);
    }
  });
});

describe('tenant store over Redis', () => {
  let server: RedisServer;
  let redis: Redis;
  let store: TenantStore;

  before(async () => {
    server = await RedisServer.start();
    redis = new Redis(server.url);
    store = new TenantStore(redis, 'tk');
  });

  after(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it('stores only the hash: no Redis value holds the secret', async () => {
    await store.createApp({ name: 'hashonly' });
    const { secret } = await store.createKey('hashonly', SCOPES);
    const part = parsePresented(secret)!.part;
    for (const k of await redis.keys('tk:tn:*')) {
      const type = await redis.type(k);
      const dump =
        type === 'hash'
          ? JSON.stringify(await redis.hgetall(k))
          : type === 'set'
            ? JSON.stringify(await redis.smembers(k))
            : type === 'stream'
              ? JSON.stringify(await redis.xrange(k, '-', '+'))
              : String(await redis.get(k));
      assert.ok(!dump.includes(part), `${k} holds the secret`);
    }
  });

  it('app names are unique, and a key needs an existing app', async () => {
    await store.createApp({ name: 'crm' });
    await assert.rejects(store.createApp({ name: 'crm' }), { code: 'app_exists' });
    await assert.rejects(store.createKey('nope', SCOPES), { code: 'app_not_found' });
    await assert.rejects(store.revokeKey('key_ffffffffffffffff'), { code: 'key_not_found' });
  });

  it('daily quotas count per app and UTC day, refuse what would pass them, and count nothing refused', async () => {
    assert.equal(await store.takeQuota('q', 3, 5), true);
    assert.equal(await store.takeQuota('q', 3, 5), false);
    assert.equal(await store.takeQuota('q', 2, 5), true);
    assert.equal(await store.takeQuota('q', 1, 5), false);
    assert.equal(await store.takeQuota('other', 5, 5), true);
    const ttl = await redis.ttl(`tk:tn:quota:q:${utcDay(Date.now())}`);
    assert.ok(ttl > 86_400 && ttl <= 2 * 86_400, String(ttl));
  });

  it('the audit log pages newest first and filters by app', async () => {
    for (let i = 0; i < 5; i++) {
      await store.appendAudit({
        action: 'app.update',
        app: i % 2 ? 'odd' : 'even',
        key_id: null,
        changes: { i },
        request_id: `r${i}`,
      });
    }
    const first = await store.readAudit({ limit: 2 });
    assert.deepEqual(
      first.entries.map((e) => e.changes.i),
      [4, 3],
    );
    const second = await store.readAudit({ limit: 2, cursor: first.next_cursor! });
    assert.deepEqual(
      second.entries.map((e) => e.changes.i),
      [2, 1],
    );
    const even = await store.readAudit({ limit: 10, app: 'even' });
    assert.deepEqual(
      even.entries.map((e) => e.changes.i),
      [4, 2, 0],
    );
    assert.equal(even.next_cursor, null);
    // A filtered page that fills before the end of the stream's last rows still points at the rest.
    const page = await store.readAudit({ limit: 2, app: 'even' });
    assert.deepEqual(
      page.entries.map((e) => e.changes.i),
      [4, 2],
    );
    assert.notEqual(page.next_cursor, null);
    const rest = await store.readAudit({ limit: 2, app: 'even', cursor: page.next_cursor! });
    assert.deepEqual(
      rest.entries.map((e) => e.changes.i),
      [0],
    );
  });

  it('revokeKey sets revoked_at, keeps an earlier one, and refuses a key that does not exist', async () => {
    await store.createApp({ name: 'revoke' });
    const { key } = await store.createKey('revoke', SCOPES);
    const t = Date.UTC(2030, 0, 1);
    assert.equal((await store.revokeKey(key.id, t)).revoked_at, new Date(t).toISOString());
    assert.equal((await store.revokeKey(key.id, t + 1000)).revoked_at, new Date(t).toISOString(), 'the earlier kept');
    assert.equal((await store.revokeKey(key.id, t - 1000)).revoked_at, new Date(t - 1000).toISOString());
    await assert.rejects(store.revokeKey('key_0000000000000000', t), { name: 'TenantError', code: 'key_not_found' });
    assert.equal(await redis.exists('tk:tn:key:key_0000000000000000'), 0, 'no hash made for a missing key');
  });

  it('takeQuota counts nothing it refuses; refundQuota gives a count back', async () => {
    const now = Date.now();
    assert.equal(await store.takeQuota('refund', 4, 4, now), true);
    assert.equal(await store.takeQuota('refund', 1, 4, now), false);
    assert.equal(await redis.get(`tk:tn:quota:refund:${utcDay(now)}`), '4');
    await store.refundQuota('refund', 3, now);
    assert.equal(await store.takeQuota('refund', 3, 4, now), true);
  });

  it("a reader finds an app's rate_limit in the hash the store writes; none for no limit or no app", async () => {
    const reader = new TenantReader(redis, 'tk');
    await store.createApp({ name: 'paced', rate_limit: 25 });
    await store.createApp({ name: 'free' });
    assert.equal(await reader.appRateLimit('paced'), 25);
    assert.equal(await reader.appRateLimit('free'), undefined);
    assert.equal(await reader.appRateLimit('nobody'), undefined);
    await store.updateApp('paced', { rate_limit: null, disabled: true });
    assert.equal(await reader.appRateLimit('paced'), undefined);
    assert.deepEqual(Object.keys(await redis.hgetall('tk:tn:app:paced')).sort(), [
      'created_at',
      'disabled',
      'priority',
    ]);
  });

  it('a change announced reaches watchChanges once it resolved', async () => {
    const subscriber = new Redis(server.url);
    try {
      let heard!: (change: string) => void;
      const change = new Promise<string>((resolve) => (heard = resolve));
      await store.watchChanges(subscriber, heard);
      await store.announce('app:crm');
      assert.equal(await change, 'app:crm');
    } finally {
      subscriber.disconnect();
    }
  });
});

describe('UTC days', () => {
  it('a day is YYYYMMDD in UTC and Retry-After runs to the next UTC midnight', () => {
    const t = Date.UTC(2026, 0, 31, 23, 59, 30);
    assert.equal(utcDay(t), '20260131');
    assert.equal(secondsToUtcMidnight(t), 30);
    assert.equal(secondsToUtcMidnight(Date.UTC(2026, 1, 1)), 86_400);
  });
});
