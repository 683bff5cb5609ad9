// The retry schedule of webhook deliveries: the configured wait for each try, ±20% jitter, then none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '@ttpush/config';
import { nextAttemptAt } from '../../src/webhooks/retry-schedule.ts';

test('each try waits its step of the schedule within ±20%, and past the last there is none', () => {
  const schedule = [5000, 30_000, 120_000];
  assert.equal(
    nextAttemptAt(schedule, 1, 0, () => 0),
    4000,
  );
  assert.equal(
    nextAttemptAt(schedule, 1, 0, () => 0.5),
    5000,
  );
  assert.equal(
    nextAttemptAt(schedule, 1, 0, () => 0.999999),
    6000,
  );
  assert.equal(
    nextAttemptAt(schedule, 3, 1000, () => 0.5),
    121_000,
  );
  assert.equal(nextAttemptAt(schedule, 4, 0), null);
  for (let i = 0; i < 1000; i++) {
    const at = nextAttemptAt(schedule, 2, 0)!;
    assert.ok(at >= 24_000 && at <= 36_000, String(at));
  }
});

test('the default schedule (TTPUSH_WEBHOOK_RETRY_SCHEDULE unset) spans about a day over 11 attempts', () => {
  const schedule = loadConfig({}).webhooks.retryScheduleMs;
  assert.equal(schedule.length, 10);
  const hours = schedule.reduce((a, b) => a + b, 0) / 3_600_000;
  assert.ok(hours > 22 && hours < 26, `${hours} h`);
  assert.deepEqual(
    loadConfig({ TTPUSH_WEBHOOK_RETRY_SCHEDULE: '100ms, 2s,1m' }).webhooks.retryScheduleMs,
    [100, 2000, 60_000],
  );
  assert.throws(() => loadConfig({ TTPUSH_WEBHOOK_RETRY_SCHEDULE: '5s,soon' }), /TTPUSH_WEBHOOK_RETRY_SCHEDULE/);
  assert.throws(() => loadConfig({ TTPUSH_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1' }), /TTPUSH_WEBHOOK_ALLOWED_NETWORKS/);
});
