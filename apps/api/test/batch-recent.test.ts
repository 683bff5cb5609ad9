// The recent-batches index the console lists (P:brecent), on a real redis-server: newest first, trimmed to
// RECENT_BATCHES, and an upload that was aborted (its hash deleted) left out.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RedisServer } from '@ttpush/testkit';
import { BatchKeys, RECENT_BATCHES } from '@ttpush/contract';
import { RedisBatchService } from '../src/batch-service.ts';
import { producerRedis, type BeginBatchResult } from '@ttpush/store';
import type { Redis } from 'ioredis';

let server: RedisServer;
let redis: Redis;
let queueConnection: Redis;
let batches: RedisBatchService;

before(async () => {
  server = await RedisServer.start();
  redis = producerRedis(server.url);
  queueConnection = producerRedis(server.url);
  await Promise.all(
    [redis, queueConnection].map((c) => (c.status === 'ready' ? undefined : new Promise((r) => c.once('ready', r)))),
  );
  batches = new RedisBatchService({ redis, queueConnection, prefix: 'trec' });
});

after(async () => {
  await batches?.close();
  redis?.disconnect();
  queueConnection?.disconnect();
  await server?.stop();
});

async function begin(): Promise<Extract<BeginBatchResult, { upload: unknown }>['upload']> {
  const r = await batches.begin({ app: 'dev', header: { from: 1, text: 'hi', priority: 'normal' } });
  assert.ok('upload' in r);
  return r.upload;
}

test('recent batches come newest first; an aborted upload is left out', async () => {
  const a = await begin();
  a.add({ to: { user: 2 } });
  await a.finish();
  await new Promise((r) => setTimeout(r, 2));
  const gone = await begin();
  await gone.abort();
  await new Promise((r) => setTimeout(r, 2));
  const b = await begin();
  b.add({ to: { user: 3 } });
  const bView = await b.finish();
  const list = await batches.listRecent(10);
  assert.deepEqual(
    list.map((v) => v.id),
    [b.id, a.id],
  );
  assert.deepEqual(list[0], { ...bView, rate: list[0]!.rate, eta_seconds: list[0]!.eta_seconds });
  assert.deepEqual(
    (await batches.listRecent(1)).map((v) => v.id),
    [b.id],
  );
});

test(`the index keeps the newest ${RECENT_BATCHES} batches`, async () => {
  for (let i = 0; i < RECENT_BATCHES + 5; i++) await begin();
  assert.equal(await redis.zcard(new BatchKeys('trec').recent), RECENT_BATCHES);
});

test('the backlog counts recipients of unfinished batches not yet done; a cancelled batch leaves it', async () => {
  const before = await batches.backlog();
  const u = await begin();
  for (const user of [10, 11, 12, 13]) u.add({ to: { user } });
  await u.finish();
  assert.equal(await batches.backlog(), before + 4);
  assert.equal((await batches.pause(u.id)).ok, true);
  assert.equal(await batches.backlog(), before + 4, 'a paused batch still has them to send');
  assert.equal((await batches.cancel(u.id)).ok, true);
  assert.equal(await batches.backlog(), before);
});
