// The console chart's ring buffer: rates from counter deltas, a gap (not a zero) when Redis is down, a
// counter reset read as a restart, and the window bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateSampler, totals } from '../src/console/rate-sampler.ts';
import { groupFailures, progressPercent } from '../src/console/overview.ts';

test('rates are the counter deltas per second between samples', () => {
  const s = new RateSampler(async () => ({ depth: 0, batchPending: 0, sent: 0, failed: 0 }), 2000, 60_000);
  s.add({ t: 10_000, depth: 50, batchPending: 0, sent: 100, failed: 1 });
  assert.deepEqual(s.series(), [], 'one reading gives no rate yet');
  s.add({ t: 12_000, depth: 40, batchPending: 7, sent: 300, failed: 5 });
  s.add({ t: 14_000, depth: 0, batchPending: 0, sent: 301, failed: 5 });
  assert.deepEqual(s.series(), [
    { t: 12_000, depth: 40, batch_pending: 7, sent_per_s: 100, failed_per_s: 2 },
    { t: 14_000, depth: 0, batch_pending: 0, sent_per_s: 0.5, failed_per_s: 0 },
  ]);
});

test('counters that go back (reset) give a rate of 0, not a negative one', () => {
  const s = new RateSampler(async () => ({ depth: 0, batchPending: 0, sent: 0, failed: 0 }));
  s.add({ t: 0, depth: 0, batchPending: 0, sent: 1000, failed: 10 });
  s.add({ t: 2000, depth: 0, batchPending: 0, sent: 4, failed: 0 });
  assert.equal(s.series()[0]!.sent_per_s, 0);
  assert.equal(s.series()[0]!.failed_per_s, 0);
});

test('the buffer keeps only the window', () => {
  const s = new RateSampler(async () => ({ depth: 0, batchPending: 0, sent: 0, failed: 0 }), 2000, 10_000);
  for (let i = 0; i <= 20; i++) s.add({ t: i * 2000, depth: i, batchPending: 0, sent: i * 10, failed: 0 });
  assert.equal(s.series().length, 5);
  assert.equal(s.series().at(-1)!.depth, 20);
  assert.equal(s.series()[0]!.depth, 16);
});

test('a failed read leaves a gap; sampling resumes after it', async () => {
  let down = false;
  let sent = 0;
  const s = new RateSampler(async () => {
    if (down) throw new Error('redis down');
    return { depth: 1, batchPending: 0, sent, failed: 0 };
  });
  await s.sample(0);
  sent = 20;
  await s.sample(2000);
  down = true;
  await s.sample(4000);
  down = false;
  sent = 60;
  await s.sample(6000);
  assert.deepEqual(
    s.series().map((p) => [p.t, p.sent_per_s]),
    [
      [2000, 10],
      [6000, 10],
    ],
  );
});

test('start samples at once and stop ends the timer', async () => {
  let reads = 0;
  const s = new RateSampler(async () => {
    reads++;
    return { depth: 0, batchPending: 0, sent: reads, failed: 0 };
  }, 20);
  s.start();
  s.start();
  // The first read at once, the next after 20 ms: wait for the second (a loaded machine delays timers).
  for (const deadline = Date.now() + 10_000; reads < 2; await new Promise((r) => setTimeout(r, 5))) {
    assert.ok(Date.now() < deadline, `${reads} reads`);
  }
  s.stop();
  const after = reads;
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(reads, after);
});

test('totals sums failed:<code> fields and ignores the latency fields', () => {
  assert.deepEqual(totals({ sent: 9, 'failed:expired': 2, 'failed:teamtalk_rejected': 3, lat_count: 9 }), {
    sent: 9,
    failed: 5,
  });
});

test('failures are grouped by code, largest first, with at most five examples each', () => {
  const ex = (id: string, code: string) => ({ id, code, message: code, at: 1 });
  const groups = groupFailures({ 'failed:expired': 10, 'failed:teamtalk_rejected': 1, sent: 5 }, [
    ...['a', 'b', 'c', 'd', 'e', 'f'].map((id) => ex(id, 'expired')),
    ex('g', 'not_stored'),
  ]);
  assert.deepEqual(
    groups.map((g) => [g.code, g.count, g.examples.map((e) => e.id).join('')]),
    [
      ['expired', 10, 'abcde'],
      ['not_stored', 1, 'g'],
      ['teamtalk_rejected', 1, ''],
    ],
  );
});

test('progress counts sent, failed and cancelled among the valid recipients', () => {
  const view = (counts: Partial<Record<string, number>>, total = 200, rejected = 0, status = 'running') =>
    ({
      status,
      total,
      rejected,
      counts: { queued: 0, sending: 0, sent: 0, failed: 0, cancelled: 0, ...counts },
    }) as unknown as Parameters<typeof progressPercent>[0];
  assert.equal(progressPercent(view({ sent: 50, failed: 10, cancelled: 4 }, 200, 40)), 40);
  assert.equal(progressPercent(view({}, 3, 3, 'completed')), 100);
  assert.equal(progressPercent(view({ sent: 1 }, 3)), 33.3);
});
