// The heartbeat registry over a real redis-server: what a beat writes, who counts as live, and a host's health.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useRedis } from '@ttpush/testkit';
import {
  LIVE_HEARTBEAT_MS,
  WorkerRegistry,
  hostOf,
  hostWorkerHealth,
  newWorkerId,
  type WorkerBeat,
} from '../src/index.ts';

const r = useRedis();

function beat(at: number, ready = true): WorkerBeat {
  return {
    at,
    dbProxyReady: ready,
    routeReady: true,
    connections: [{ role: 'db_proxy', address: '10.0.0.1:10600', status: ready ? 'ready' : 'connecting' }],
  };
}

test('a worker id starts with its host, which hostOf reads back (hyphens in the host kept)', () => {
  const id = newWorkerId('db-host-2', 4711);
  assert.match(id, /^db-host-2-4711-[0-9a-f]{6}$/);
  assert.equal(hostOf(id), 'db-host-2');
});

test('a beat lists the worker with an expiring state; ids silent for a minute are forgotten; leave removes it', async () => {
  const workers = new WorkerRegistry(r.redis, 'w1');
  const now = Date.now();
  await workers.beat('old', beat(now - 61_000));
  await workers.beat('a', beat(now));
  assert.deepEqual(await r.redis.zrange('w1:workers', 0, -1), ['a'], 'the old id was forgotten');
  const ttl = await r.redis.pttl('w1:w:a');
  assert.ok(ttl > 0 && ttl <= 15_000, `state ttl ${ttl}`);
  assert.deepEqual(await workers.state('a'), beat(now));
  await workers.leave('a');
  assert.equal(await r.redis.exists('w1:w:a', 'w1:workers'), 0);
});

test('live workers: beat within LIVE_HEARTBEAT_MS and a state left; the census counts the listed ones', async () => {
  const workers = new WorkerRegistry(r.redis, 'w2');
  const now = Date.now();
  await workers.beat('fresh', beat(now));
  await workers.beat('stale', beat(now - LIVE_HEARTBEAT_MS - 1));
  await workers.beat('stateless', beat(now));
  await r.redis.del('w2:w:stateless');
  assert.deepEqual(
    (await workers.liveWorkers(now)).map((w) => w.id),
    ['fresh'],
  );
  assert.deepEqual(await workers.census('stale', now), { live: 2, registered: true });
  assert.deepEqual(await workers.census('gone', now), { live: 2, registered: false });
});

test("a host's health: its own worker only, connected or not, and none when no worker of it beats", async () => {
  const workers = new WorkerRegistry(r.redis, 'w3');
  const now = Date.now();
  await workers.beat(newWorkerId('other', 1), beat(now));
  assert.equal((await hostWorkerHealth(workers, 'box', now)).healthy, false);
  const id = newWorkerId('box', 2);
  await workers.beat(id, beat(now, false));
  const down = await hostWorkerHealth(workers, 'box', now);
  assert.equal(down.healthy, false);
  assert.match(down.detail, /not connected to db_proxy_server \(db_proxy 10\.0\.0\.1:10600 connecting\)/);
  await workers.beat(id, beat(now));
  assert.deepEqual(await hostWorkerHealth(workers, 'box', now), {
    healthy: true,
    detail: `worker ${id} is connected to db_proxy_server and route_server`,
  });
});
