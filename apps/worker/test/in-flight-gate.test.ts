// The in-flight gate and this worker's share of the total, counted from the heartbeat registry in a real Redis.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { WorkerRegistry } from '@ttpush/store';
import { useRedis } from '@ttpush/testkit';
import { InFlightGate, InFlightShare } from '../src/in-flight-gate.ts';

const r = useRedis();
const log = pino({ level: 'silent' });

test('the gate never lets more than its capacity through, and hands places over in order', async () => {
  const gate = new InFlightGate(2);
  let running = 0;
  let most = 0;
  const order: number[] = [];
  const releases: (() => void)[] = [];
  const jobs = [0, 1, 2, 3, 4].map((n) =>
    gate.run(async () => {
      running++;
      most = Math.max(most, running);
      order.push(n);
      await new Promise<void>((r) => releases.push(r));
      running--;
    }),
  );
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setImmediate(r));
    releases.shift()?.();
  }
  await Promise.all(jobs);
  assert.equal(most, 2);
  assert.deepEqual(order, [0, 1, 2, 3, 4]);
  assert.equal(gate.inFlight, 0);
});

test('a smaller capacity holds new requests until enough have ended; capacity 0 holds all', async () => {
  const gate = new InFlightGate(0);
  assert.ok(gate.acquire() instanceof Promise);
  gate.setCapacity(1); // the waiter takes the place
  assert.equal(gate.inFlight, 1);
  const second = gate.acquire();
  assert.ok(second instanceof Promise);
  gate.setCapacity(3);
  await second;
  assert.equal(gate.inFlight, 2);
  gate.setCapacity(1);
  const third = gate.acquire();
  assert.ok(third instanceof Promise);
  let got = false;
  void third.then(() => (got = true));
  gate.release();
  await new Promise((r) => setImmediate(r));
  assert.equal(got, false, 'still 1 in flight: at capacity');
  gate.release();
  await third;
  assert.equal(gate.inFlight, 1);
});

test("a worker's share is floor(total / live workers), and a newcomer waits before taking it", async () => {
  const key = 'g1:workers';
  const now = Date.now();
  await r.redis.zadd(key, now, 'a', now, 'b', now - 60_000, 'dead');
  const share = new InFlightShare(new WorkerRegistry(r.redis, 'g1'), 'b', 9, new InFlightGate(0), log);
  await share.refresh(now);
  assert.equal(share.gate.size, 0, 'just registered: the others may not have shrunk yet');
  await share.refresh(now + 1000);
  assert.equal(share.gate.size, 0);
  await share.refresh(now + 3000);
  assert.equal(share.gate.size, 4, 'two live workers (the dead one is not counted): floor(9 / 2)');
  await r.redis.zadd(key, now + 3000, 'c');
  await share.refresh(now + 4000);
  assert.equal(share.gate.size, 3);
});

test('an unregistered worker keeps share 0', async () => {
  const share = new InFlightShare(new WorkerRegistry(r.redis, 'g2'), 'x', 8, new InFlightGate(0), log);
  await share.refresh(Date.now() + 10_000);
  assert.equal(share.gate.size, 0);
});
