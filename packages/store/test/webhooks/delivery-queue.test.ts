// Webhook deliveries in a real redis-server: claims under the per-endpoint cap over several workers, leases
// that let a dead worker's claims come due again, and the records attempts leave.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisServer } from '@ttpush/testkit';
import { DeliveryQueue, type NewDelivery } from '../../src/webhooks/delivery-queue.ts';
import { WebhookStore } from '../../src/webhooks/endpoint-store.ts';
import { newDeliveryId } from '@ttpush/contract';

let server: RedisServer;
let redis: Redis;
let other: Redis;

before(async () => {
  server = await RedisServer.start();
  redis = new Redis(server.url);
  other = new Redis(server.url);
});
after(async () => {
  redis?.disconnect();
  other?.disconnect();
  await server?.stop();
});

const delivery = (app: string, endpoint: string, n: number): NewDelivery => ({
  id: newDeliveryId(),
  app,
  endpoint,
  url: '',
  eventId: `evt_${n}`,
  type: 'message.sent',
  body: JSON.stringify({ type: 'message.sent', timestamp: new Date().toISOString(), data: { n } }),
});

test('two workers together claim at most the cap of one endpoint; a finished attempt frees its slot', async () => {
  const a = new DeliveryQueue(redis, 'q1');
  const b = new DeliveryQueue(other, 'q1');
  const now = Date.now();
  await a.enqueue(
    [...Array(10).keys()].map((n) => delivery('crm', 'ep_a', n)),
    now,
  );
  await a.enqueue([delivery('crm', 'ep_b', 99)], now);
  const first = await a.claim({ max: 20, leaseMs: 60_000, cap: 3, recheckMs: 500, now: now + 1 });
  const second = await b.claim({ max: 20, leaseMs: 60_000, cap: 3, recheckMs: 500, now: now + 2 });
  const all = [...first, ...second];
  assert.equal(all.length, 4, 'three of ep_a and the one of ep_b');
  const { delivery: d } = await a.load(first[0]!);
  await a.finish(d!, {
    ok: true,
    next: null,
    attempt: { at: new Date().toISOString(), status: 200, error: null, duration_ms: 3 },
  });
  // Deliveries pushed back while the endpoint was full come due again after the recheck (500 ms).
  const third = await b.claim({ max: 20, leaseMs: 60_000, cap: 3, recheckMs: 500, now: now + 600 });
  assert.equal(third.length, 1);
  const store = new WebhookStore(redis, 'q1');
  const detail = await store.delivery('crm', d!.id);
  assert.equal(detail!.status, 'delivered');
  assert.equal(detail!.attempts, 1);
  assert.equal(detail!.attempt_log[0]!.status, 200);
  assert.equal(await store.delivery('other-app', d!.id), null, "another app's delivery is not found");
});

test('a claim whose worker died comes due again when its lease ends (at least once)', async () => {
  const q = new DeliveryQueue(redis, 'q2');
  const now = Date.now();
  await q.enqueue([delivery('crm', 'ep_c', 1)], now);
  const [id] = await q.claim({ max: 5, leaseMs: 1000, cap: 4, recheckMs: 500, now });
  assert.ok(id);
  assert.deepEqual(await q.claim({ max: 5, leaseMs: 1000, cap: 4, recheckMs: 500, now: now + 500 }), []);
  assert.deepEqual(await q.claim({ max: 5, leaseMs: 1000, cap: 4, recheckMs: 500, now: now + 1001 }), [id]);
});

test('a failed attempt schedules the next; past the schedule the delivery is dead and redelivery revives it', async () => {
  const q = new DeliveryQueue(redis, 'q3');
  const store = new WebhookStore(redis, 'q3');
  const now = Date.now();
  const d0 = delivery('crm', 'ep_d', 1);
  await q.enqueue([d0], now);
  const attempt = { at: new Date().toISOString(), status: 500, error: 'http_500', duration_ms: 1 };
  await q.claim({ max: 5, leaseMs: 1000, cap: 4, recheckMs: 500, now });
  await q.finish((await q.load(d0.id)).delivery!, { ok: false, next: now + 5000, attempt });
  assert.equal((await store.delivery('crm', d0.id))!.status, 'pending');
  assert.deepEqual(
    await q.claim({ max: 5, leaseMs: 1000, cap: 4, recheckMs: 500, now: now + 10 }),
    [],
    'not due before its next attempt',
  );
  assert.deepEqual(await q.claim({ max: 5, leaseMs: 1000, cap: 4, recheckMs: 500, now: now + 5001 }), [d0.id]);
  await q.finish((await q.load(d0.id)).delivery!, { ok: false, next: null, attempt });
  const dead = (await store.delivery('crm', d0.id))!;
  assert.equal(dead.status, 'dead');
  assert.equal(dead.attempts, 2);
  assert.equal(dead.last_error, 'http_500');
  const page = await store.deliveries('crm', { status: 'dead', cursor: 0, limit: 10 });
  assert.deepEqual(
    page.deliveries.map((d) => d.id),
    [d0.id],
  );
  const again = (await store.redeliver('crm', d0.id))!;
  assert.equal(again.status, 'pending');
  assert.equal(again.event_id, d0.eventId);
  assert.equal((await q.claim({ max: 5, leaseMs: 1000, cap: 4, recheckMs: 500, now: Date.now() + 1 })).length, 1);
});

test('an endpoint failing without a success for disable-after is disabled once; a success resets the count', async () => {
  const store = new WebhookStore(redis, 'q4');
  const q = new DeliveryQueue(redis, 'q4');
  const { view } = await store.create('crm', { url: 'https://example.com/h', events: ['message.sent'] });
  assert.deepEqual((await store.subscriptions()).get('crm'), [{ id: view.id, events: ['message.sent'] }]);
  const t = Date.now();
  assert.equal(await q.endpointOutcome(view.id, false, 10_000, t), false);
  assert.equal(await q.endpointOutcome(view.id, true, 10_000, t + 5000), false);
  assert.equal(await q.endpointOutcome(view.id, false, 10_000, t + 9000), false);
  assert.equal(await q.endpointOutcome(view.id, false, 10_000, t + 15_000), false, 'the run began at t+9000');
  assert.equal(await q.endpointOutcome(view.id, false, 10_000, t + 19_001), true);
  assert.equal(await q.endpointOutcome(view.id, false, 10_000, t + 20_000), false, 'already disabled');
  const disabled = (await store.get('crm', view.id))!;
  assert.equal(disabled.enabled, false);
  assert.match(disabled.disabled_reason!, /TTPUSH_WEBHOOK_DISABLE_AFTER/);
  await store.refreshSubscriptions('crm');
  assert.equal((await store.subscriptions()).get('crm'), undefined);
});

test('an endpoint at its cap with a long backlog does not hold up another endpoint', async () => {
  const q = new DeliveryQueue(redis, 'q5');
  const now = Date.now();
  await q.enqueue(
    [...Array(500).keys()].map((n) => delivery('crm', 'ep_busy', n)),
    now,
  );
  await q.enqueue([delivery('crm', 'ep_quiet', 1)], now + 1);
  const claimed = await Promise.all(
    (await q.claim({ max: 10, leaseMs: 60_000, cap: 2, recheckMs: 500, now: now + 2 })).map(
      async (id) => (await q.load(id)).delivery!,
    ),
  );
  assert.deepEqual(claimed.map((d) => d.endpoint).sort(), ['ep_busy', 'ep_busy', 'ep_quiet']);
  // A finished attempt brings the busy endpoint forward at once: its next delivery goes without the recheck wait.
  const busy = claimed.find((d) => d.endpoint === 'ep_busy')!;
  await q.finish(busy, {
    ok: true,
    next: null,
    attempt: { at: new Date().toISOString(), status: 200, error: null, duration_ms: 1 },
  });
  const next = await q.claim({ max: 10, leaseMs: 60_000, cap: 2, recheckMs: 500, now: Date.now() });
  assert.equal(next.length, 1);
  assert.equal((await q.load(next[0]!)).delivery!.endpoint, 'ep_busy');
});

test('claim answers nothing when nothing is due, and leases what it claims in the group semaphore and due set', async () => {
  const q = new DeliveryQueue(redis, 'q6');
  const now = Date.now();
  assert.deepEqual(await q.claim({ max: 5, leaseMs: 1000, cap: 1, now }), []);
  const both = [delivery('crm', 'ep_e', 1), delivery('crm', 'ep_e', 2)];
  await q.enqueue(both, now);
  // Both are due at the same time: either may come first (the due set orders equal times by id).
  const claimed = await q.claim({ max: 5, leaseMs: 1000, cap: 1, now: now + 1 });
  assert.equal(claimed.length, 1, 'the cap is one');
  const d = both.find((x) => x.id === claimed[0])!;
  assert.ok(d, 'one of the two');
  const base = 'q6:{q6:wh}';
  assert.equal(await redis.zscore(`${base}:sem:ep_e`, d.id), String(now + 1001));
  assert.equal(await redis.zscore(`${base}:due:ep_e`, d.id), String(now + 1001));
  // The group at its cap is looked at again after the default recheck (500 ms).
  assert.equal(await redis.zscore(`${base}:ready`, 'ep_e'), String(now + 501));
  assert.deepEqual(await q.claim({ max: 5, leaseMs: 1000, cap: 1, now: now + 2 }), []);
});

test('once watchChanges resolves, an app whose endpoints change is announced to it', async () => {
  const store = new WebhookStore(redis, 'q7');
  const subscriber = new Redis(server.url);
  try {
    let heard!: (app: string) => void;
    const app = new Promise<string>((resolve) => (heard = resolve));
    await store.watchChanges(subscriber, heard);
    await store.create('shop', { url: 'https://example.com/h', events: ['message.sent'] });
    assert.equal(await app, 'shop');
  } finally {
    subscriber.disconnect();
  }
});
