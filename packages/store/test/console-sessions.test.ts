// Console sessions in a real redis-server: one expiring key per session, under the admin key's fingerprint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { useRedis } from '@ttpush/testkit';
import { ConsoleSessionStore, ServiceUnavailableError, adminKeyFingerprint } from '../src/index.ts';

const r = useRedis();

test('a stored session lives for its TTL under the hash of its id, for its admin key only, until removed', async () => {
  const store = new ConsoleSessionStore(r.redis, 'c1');
  await store.put('admin-key-1', 'session-a', 60_000, 1234);
  const key = `c1:console:session:${adminKeyFingerprint('admin-key-1')}:${createHash('sha256').update('session-a').digest('hex')}`;
  assert.deepEqual(await r.redis.keys('c1:*'), [key]);
  assert.equal(await r.redis.get(key), '1234');
  const ttl = await r.redis.pttl(key);
  assert.ok(ttl > 50_000 && ttl <= 60_000, `pttl ${ttl}`);
  assert.equal(await store.exists('admin-key-1', 'session-a'), true);
  assert.equal(await store.exists('admin-key-2', 'session-a'), false, 'another admin key finds none');
  assert.equal(await store.exists('admin-key-1', 'session-b'), false);
  await store.remove('admin-key-1', 'session-a');
  assert.equal(await store.exists('admin-key-1', 'session-a'), false);
});

test('Redis unreachable: every operation throws ServiceUnavailableError', async () => {
  const gone = new Redis(r.url, { lazyConnect: true, enableOfflineQueue: false });
  const store = new ConsoleSessionStore(gone, 'c2');
  await assert.rejects(store.put('k', 's', 1000), ServiceUnavailableError);
  await assert.rejects(store.exists('k', 's'), ServiceUnavailableError);
  await assert.rejects(store.remove('k', 's'), ServiceUnavailableError);
  gone.disconnect();
});
