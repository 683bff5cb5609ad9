// A batch's rate and ETA as its view computes them from the hash: over the recent samples the chunks write
// (at least every second while they send), not the average since the start, so a batch paced at 50 msg/s
// shows about 50/s and the time its remaining recipients take at that pace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toBatchView } from '../src/batches/batch-view.ts';

const NOW = 1_800_000_000_000;

function running(extra: Record<string, string>): Record<string, string> {
  return {
    status: 'running',
    from: '1',
    total: '6000',
    valid: '6000',
    chunks: '6',
    created: String(NOW - 70_000),
    started: String(NOW - 60_000),
    ...extra,
  };
}

test('the rate is the recent one: 150 more done in the last 3 s is 50/s, whatever the average since the start', () => {
  // 1,500 done in 60 s is an average of 25/s; the last 3 s went at 50/s (the app's pace, after a slow start).
  const v = toBatchView(
    'bat_x',
    running({
      sending: '1000',
      sent: '1500',
      rt0: String(NOW - 3000),
      rn0: '1350',
      rt1: String(NOW - 1000),
      rn1: '1450',
    }),
    NOW,
  )!;
  assert.equal(v.rate, 50);
  // 4,500 left (3,500 queued + 1,000 sending) at 50/s.
  assert.equal(v.counts.queued + v.counts.sending, 4500);
  assert.equal(v.eta_seconds, 90);
});

test('a step of progress just written does not swing the rate: it is taken between the two samples', () => {
  // 50/s between the samples; 50 more were written 100 ms after the newer one. From the older sample to now would
  // say 71/s.
  const v = toBatchView(
    'bat_x',
    running({
      sending: '1000',
      sent: '1450',
      rt0: String(NOW - 2100),
      rn0: '1300',
      rt1: String(NOW - 100),
      rn1: '1400',
    }),
    NOW,
  )!;
  assert.equal(v.rate, 50);
  assert.equal(v.eta_seconds, Math.ceil(4550 / 50));
});

test('a batch that stops moving sees its rate fall and its ETA grow; none while paused', () => {
  const stalled = toBatchView(
    'bat_x',
    running({
      sending: '1000',
      sent: '1500',
      rt0: String(NOW - 30_000),
      rn0: '1350',
      rt1: String(NOW - 28_000),
      rn1: '1450',
    }),
    NOW,
  )!;
  assert.equal(stalled.rate, 5);
  assert.equal(stalled.eta_seconds, 900);
  const paused = toBatchView('bat_x', { ...running({ sent: '1500', sending: '0' }), status: 'paused' }, NOW)!;
  assert.equal(paused.eta_seconds, null);
});
