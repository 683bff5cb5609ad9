// Token buckets in a real redis-server: refill, burst, partial blocks, the wait they answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useRedis } from '@ttpush/testkit';
import { LocalTokens, RateLimitStore, appRateLimit } from '../src/index.ts';

const r = useRedis();

test('a full bucket grants its burst, then refuses with the wait for one token', async () => {
  // 1 token per 10 s: no refill to speak of while the test runs.
  const b = new RateLimitStore(r.redis, 't1').appBucket('crm', 0.1, 5);
  for (let i = 0; i < 5; i++) assert.deepEqual(await b.take(1), { granted: 1, waitMs: 0 });
  const refused = await b.take(1);
  assert.equal(refused.granted, 0);
  assert.ok(refused.waitMs > 9000 && refused.waitMs <= 10_000, `waitMs ${refused.waitMs}`);
});

test('a block takes what is there when at least min is, and never more than the burst', async () => {
  const b = new RateLimitStore(r.redis, 't2').teamtalkBucket(0.1, 10);
  assert.deepEqual(await b.take(64, 1), { granted: 10, waitMs: 0 });
  assert.equal((await b.take(64, 1)).granted, 0);
});

test('the bucket refills at its rate', async () => {
  const b = new RateLimitStore(r.redis, 't3').teamtalkBucket(50, 5);
  assert.equal((await b.take(5)).granted, 5);
  const refused = await b.take(5);
  assert.equal(refused.granted, 0);
  await new Promise((r) => setTimeout(r, refused.waitMs + 20));
  assert.equal((await b.take(5)).granted, 5);
});

test('LocalTokens spends one Redis block locally and waits for the next', async () => {
  const b = new RateLimitStore(r.redis, 't4').teamtalkBucket(20, 4);
  const local = new LocalTokens(b, 64);
  const first = local.take();
  assert.ok(first instanceof Promise, 'the first token needs a round trip');
  await first;
  // The rest of the block (3 tokens) is answered synchronously.
  for (let i = 0; i < 3; i++) assert.equal(local.take(), undefined);
  const next = local.take();
  assert.ok(next instanceof Promise);
  await next;
  // Redis saw exactly the tokens handed out: the burst of 4, then at least one refilled.
  const left = Number(await r.redis.hget('t4:rl:teamtalk', 't'));
  assert.ok(left < 1, `tokens left ${left}`);
});

test("an app's limit comes from its key; the dev key's from TTPUSH_DEV_RATE_LIMIT", () => {
  const config = {
    appKeys: [
      { name: 'crm', key: 'k'.repeat(16), senders: '*' as const, rateLimit: 5 },
      { name: 'ops', key: 'o'.repeat(16), senders: '*' as const },
    ],
    devRateLimit: undefined,
  };
  assert.equal(appRateLimit(config, 'crm'), 5);
  assert.equal(appRateLimit(config, 'ops'), undefined);
  assert.equal(appRateLimit(config, 'dev'), undefined);
  assert.equal(appRateLimit({ ...config, devRateLimit: 7 }, 'dev'), 7);
});

test('take answers the tokens granted or the wait, on the bucket its name keys, which expires once full again', async () => {
  const store = new RateLimitStore(r.redis, 't5');
  const all = { rate: 1, burst: 2, want: 2, min: 2 };
  assert.deepEqual(await store.take({ app: 'crm' }, all), { granted: 2, waitMs: 0 });
  const refused = await store.take({ app: 'crm' }, { ...all, want: 1, min: 1 });
  assert.equal(refused.granted, 0);
  assert.ok(refused.waitMs > 0 && refused.waitMs <= 1000, `waitMs ${refused.waitMs}`);
  const ttl = await r.redis.pttl('t5:rl:app:crm');
  assert.ok(ttl > 2000 && ttl <= 3000, `pttl ${ttl}`);
  // The global bucket and another app's are full still.
  assert.deepEqual(await store.take('teamtalk', all), { granted: 2, waitMs: 0 });
  assert.deepEqual(await store.take({ app: 'ops' }, all), { granted: 2, waitMs: 0 });
  assert.deepEqual((await r.redis.keys('t5:*')).sort(), ['t5:rl:app:crm', 't5:rl:app:ops', 't5:rl:teamtalk']);
});
