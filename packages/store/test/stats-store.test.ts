// The workers' counters and recent failures in a real redis-server: what a flush writes, what the reads answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RECENT_FAILURES, recentFailuresKey, type FailureExample } from '@ttpush/contract';
import { useRedis } from '@ttpush/testkit';
import { ServiceUnavailableError, StatsStore } from '../src/index.ts';

const r = useRedis();

const failure = (n: number): FailureExample => ({ id: `msg_${n}`, code: 'teamtalk_rejected', message: 'm', at: n });

test('nothing flushed: no counters, no failures', async () => {
  const stats = new StatsStore(r.redis, 's0');
  assert.deepEqual(await stats.read(), {});
  assert.deepEqual(await stats.recentFailures(), []);
});

test('flushes add to the counters and list failures newest first, at most RECENT_FAILURES', async () => {
  const stats = new StatsStore(r.redis, 's1');
  await stats.flush(
    new Map([
      ['sent', 2],
      ['failed:teamtalk_rejected', 1],
    ]),
    [failure(1), failure(2)],
  );
  await stats.flush(new Map([['sent', 3]]), []);
  assert.deepEqual(await stats.read(), { sent: 5, 'failed:teamtalk_rejected': 1 });
  assert.deepEqual(await r.redis.hgetall('s1:stats'), { sent: '5', 'failed:teamtalk_rejected': '1' });
  assert.deepEqual(
    (await stats.recentFailures()).map((f) => f.id),
    ['msg_2', 'msg_1'],
  );
  await stats.flush(
    new Map(),
    Array.from({ length: RECENT_FAILURES + 5 }, (_, i) => failure(i + 10)),
  );
  const list = await stats.recentFailures();
  assert.equal(list.length, RECENT_FAILURES);
  assert.equal(list[0]!.id, `msg_${RECENT_FAILURES + 14}`);
  assert.equal(await r.redis.llen(recentFailuresKey('s1:stats')), RECENT_FAILURES);
});

test('a line in the list that is not a failure is left out', async () => {
  const stats = new StatsStore(r.redis, 's2');
  await r.redis.lpush(recentFailuresKey('s2:stats'), 'not json', JSON.stringify(failure(7)));
  assert.deepEqual(await stats.recentFailures(), [failure(7)]);
});

test('reads throw ServiceUnavailableError when Redis cannot be reached', async () => {
  const gone = new Redis(r.url, { lazyConnect: true, enableOfflineQueue: false });
  const stats = new StatsStore(gone, 's3');
  await assert.rejects(stats.read(), ServiceUnavailableError);
  await assert.rejects(stats.recentFailures(), ServiceUnavailableError);
  gone.disconnect();
});
