// The worker's stats flush also writes the console's recent failures (real redis-r.server): newest first,
// capped, in the stats key's Cluster slot, and a failure without an id only counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RECENT_FAILURES, recentFailuresKey } from '@ttpush/contract';
import { parseFailureExamples } from '@ttpush/store';
import { StatsStore } from '@ttpush/store';
import { useRedis } from '@ttpush/testkit';
import { WorkerStats } from '../src/stats.ts';

const r = useRedis();

test('failed messages are listed newest first beside their counters; a failure without an id is only counted', async () => {
  const stats = new WorkerStats();
  const writer = new StatsStore(r.redis, 'a');
  stats.failed('teamtalk_rejected', 'msg_1');
  stats.failed('expired', 'msg_2');
  stats.failed('expired');
  await stats.flush(writer);
  stats.failed('not_stored', 'msg_3');
  await stats.flush(writer);
  const list = parseFailureExamples(await r.redis.lrange(recentFailuresKey('a:stats'), 0, -1));
  assert.deepEqual(
    list.map((e) => [e.id, e.code]),
    [
      ['msg_3', 'not_stored'],
      ['msg_2', 'expired'],
      ['msg_1', 'teamtalk_rejected'],
    ],
  );
  assert.match(list[1]!.message, /deadline/);
  assert.ok(Math.abs(list[0]!.at - Date.now()) < 60_000);
  assert.deepEqual(await r.redis.hgetall('a:stats'), {
    'failed:teamtalk_rejected': '1',
    'failed:expired': '2',
    'failed:not_stored': '1',
  });
});

test(`the list keeps the newest ${RECENT_FAILURES}`, async () => {
  const stats = new WorkerStats();
  const writer = new StatsStore(r.redis, 'b');
  for (let i = 0; i < RECENT_FAILURES + 50; i++) stats.failed('expired', `msg_${i}`);
  await stats.flush(writer);
  stats.failed('expired', 'msg_last');
  await stats.flush(writer);
  const ids = (await r.redis.lrange(recentFailuresKey('b:stats'), 0, -1)).map((l) => JSON.parse(l).id);
  assert.equal(ids.length, RECENT_FAILURES);
  assert.equal(ids[0], 'msg_last');
  assert.equal(ids[1], `msg_${RECENT_FAILURES + 49}`);
});

test('the list key shares the stats key slot: its hash tag, or the whole key as one', () => {
  assert.equal(recentFailuresKey('ttp:stats'), '{ttp:stats}:failures');
  assert.equal(recentFailuresKey('ttp:{p1}:stats'), 'ttp:{p1}:stats:failures');
});

test('sends are counted with their latency histogram (bucket upper bounds inclusive), and kept when a flush fails', async () => {
  const stats = new WorkerStats();
  for (const ms of [0, 5, 5.4, 6, 250, 60_000, 60_001, -3]) stats.sent(ms);
  const failing = { flush: () => Promise.reject(new Error('Redis down')) } as unknown as StatsStore;
  await stats.flush(failing);
  stats.sent(12);
  await stats.flush(new StatsStore(r.redis, 'lat'));
  assert.deepEqual(await r.redis.hgetall('lat:stats'), {
    sent: '9',
    lat_count: '9',
    // Rounded each, a negative latency (a clock step) as 0.
    lat_sum_ms: String(0 + 5 + 5 + 6 + 250 + 60_000 + 60_001 + 0 + 12),
    lat_le_5: '3',
    lat_le_10: '2',
    lat_le_25: '1',
    lat_le_250: '1',
    lat_le_60000: '1',
    lat_le_inf: '1',
  });
});
