// What the CLI says back: an unknown flag with the closest valid ones (never parseArgs's own text), the
// progress line in place on a terminal and as plain lines elsewhere, and send's time and metadata flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BatchView } from '@ttpush/client';
import { closest, parseFlags, parseLine, UsageError } from '../src/args.ts';
import { duration, ProgressPrinter } from '../src/remote/batch-progress.ts';
import { parseSendArgs, parseTime } from '../src/commands/send.ts';
import { resumeHint } from '../src/remote/follow.ts';

const SEND = {
  'to-user': { type: 'string' },
  'to-group': { type: 'string' },
  from: { type: 'string' },
  json: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof UsageError);
    return err.message;
  }
  assert.fail('no UsageError');
}

test('an unknown flag gets the closest valid flags', () => {
  assert.equal(
    messageOf(() => parseFlags(['--to', '2'], SEND)),
    'unknown option --to: did you mean --to-user or --to-group?',
  );
  assert.equal(
    messageOf(() => parseLine(['--to=2', 'x'], SEND)),
    'unknown option --to: did you mean --to-user or --to-group?',
  );
  assert.equal(
    messageOf(() => parseFlags(['--form', '1'], SEND)),
    'unknown option --form: did you mean --from?',
  );
  assert.equal(
    messageOf(() => parseFlags(['--jsno'], SEND)),
    'unknown option --jsno: did you mean --json?',
  );
  assert.equal(
    messageOf(() => parseFlags(['--noprogress'], SEND)),
    'unknown option --noprogress: did you mean --no-progress?',
  );
  assert.equal(
    messageOf(() => parseFlags(['--zzzzzzzz'], SEND)),
    'unknown option --zzzzzzzz',
  );
  assert.equal(
    messageOf(() => parseFlags(['-x'], SEND)),
    'unknown option -x (short options: -h)',
  );
  assert.equal(
    messageOf(() => parseFlags(['--from'], SEND)),
    '--from needs a value',
  );
  assert.equal(
    messageOf(() => parseFlags(['--json=yes'], SEND)),
    '--json takes no value',
  );
  assert.match(
    messageOf(() => parseFlags(['stray'], SEND)),
    /^unexpected argument 'stray'/,
  );
  assert.deepEqual(closest('stauts', ['status', 'results', 'cancel']), ['status']);
  assert.deepEqual(closest('qqq', ['status', 'results', 'cancel']), []);
});

function view(sent: number, status: BatchView['status'] = 'running'): BatchView {
  return {
    id: 'bat_test000000',
    status,
    from: 1,
    priority: 'normal',
    total: 100,
    counts: { queued: 100 - sent, sending: 0, sent, failed: 0, cancelled: 0 },
    rejected: 0,
    rejected_listed: 0,
    duplicates: 0,
    rate: 50,
    eta_seconds: status === 'running' ? Math.ceil((100 - sent) / 50) : null,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    started_at: '2026-01-01T00:00:00.000Z',
    finished_at: null,
    send_at: null,
    deadline: null,
  };
}

test('on a terminal the progress line is rewritten in place; elsewhere plain lines every few seconds', () => {
  const tty: string[] = [];
  const onTty = new ProgressPrinter({ isTTY: true, write: (s: string) => tty.push(s) });
  onTty.show(view(10));
  onTty.show(view(20));
  onTty.end();
  assert.deepEqual(tty, [
    '\rbatch bat_test000000 running: 10 sent, 0 failed of 100 (10%) · 50/s · ETA 2s\x1b[K',
    '\rbatch bat_test000000 running: 20 sent, 0 failed of 100 (20%) · 50/s · ETA 2s\x1b[K',
    '\n',
  ]);

  const plain: string[] = [];
  let now = 0;
  const piped = new ProgressPrinter({ isTTY: false, write: (s: string) => plain.push(s) }, 5000, () => now);
  piped.show(view(10)); // the first line at once
  now = 1000;
  piped.show(view(20)); // within 5 s, same status: not written
  now = 5000;
  piped.show(view(60)); // 5 s later
  now = 5500;
  piped.show(view(70, 'paused')); // a new status: at once
  now = 6000;
  piped.show(view(100, 'completed')); // the end: at once
  piped.end();
  assert.deepEqual(plain, [
    'batch bat_test000000 running: 10 sent, 0 failed of 100 (10%) · 50/s · ETA 2s\n',
    'batch bat_test000000 running: 60 sent, 0 failed of 100 (60%) · 50/s · ETA 1s\n',
    'batch bat_test000000 paused: 70 sent, 0 failed of 100 (70%) · 50/s\n',
    'batch bat_test000000 completed: 100 sent, 0 failed of 100 (100%) · 50/s\n',
  ]);
  assert.ok(plain.every((l) => !l.includes('\r') && !l.includes('\u001b')));
});

test('the hint names --url only when it is not the default', () => {
  assert.equal(
    resumeHint('bat_x', undefined),
    '  follow it:  ttpush batch status bat_x --follow\n  cancel it:  ttpush batch cancel bat_x\n',
  );
  assert.match(resumeHint('bat_x', 'http://10.0.0.5:8400'), /--follow --url http:\/\/10\.0\.0\.5:8400\n/);
});

test('send: --send-at and --deadline take RFC 3339 or a delay; --metadata a JSON object', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseTime('10m', '--send-at', now), '2026-01-01T00:10:00.000Z');
  assert.equal(parseTime('1.5h', '--deadline', now), '2026-01-01T01:30:00.000Z');
  assert.equal(parseTime('2026-01-31T17:30:00+08:00', '--send-at', now), '2026-01-31T17:30:00+08:00');
  for (const bad of ['tomorrow', '10', '-5m', '2026-13-45T99:00']) {
    assert.throws(() => parseTime(bad, '--send-at', now), /--send-at must be an RFC 3339 time/, bad);
  }
  const o = parseSendArgs(['--to-user', '2', '--from', '1', '--metadata', '{"a":1}', '--idempotency-key', 'k-1', 'x']);
  assert.notEqual(o, 'help');
  assert.deepEqual(
    [(o as Exclude<typeof o, 'help'>).metadata, (o as Exclude<typeof o, 'help'>).idempotencyKey],
    [{ a: 1 }, 'k-1'],
  );
  assert.throws(() => parseSendArgs(['--to-user', '2', '--from', '1', '--metadata', '"s"', 'x']), /JSON object/);
  assert.throws(() => parseSendArgs(['--to-user', '2', '--from', '1', '--metadata', '{', 'x']), /not valid JSON/);
  assert.throws(() => parseSendArgs(['--to-user', '2', '--from', '1', '--idempotency-key', ' ', 'x']), /1 to 200/);
});

test('durations round up to whole seconds without a 60th second', () => {
  assert.deepEqual([0.2, 59.5, 60, 119.7, 125, 3599.5, 3725].map(duration), [
    '1s',
    '1m00s',
    '1m00s',
    '2m00s',
    '2m05s',
    '1h00m',
    '1h02m',
  ]);
});
