import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../src/args.ts';
import { parseDoctorArgs } from '../src/commands/doctor.ts';
import { exitCodeOf, fail, formatCheck, ok, summaryLine, warn } from '../src/doctor/check.ts';
import { safeRedisUrl } from '../src/doctor/redis-checks.ts';

test('exit code: 0 all ok, 1 with a warning, 2 with a failure', () => {
  const a = ok('a', 'fine');
  const w = warn('w', 'meh', 'do x');
  const f = fail('f', 'broken', 'do y');
  assert.equal(exitCodeOf([a]), 0);
  assert.equal(exitCodeOf([]), 0);
  assert.equal(exitCodeOf([a, w]), 1);
  assert.equal(exitCodeOf([a, w, f]), 2);
  assert.equal(exitCodeOf([f]), 2);
});

test('one line per check: ✓ / ! / ✗, the fix after a dash', () => {
  assert.equal(formatCheck(ok('redis', 'reachable')), '✓ redis: reachable');
  assert.equal(formatCheck(warn('admin key', 'unset', 'set it')), '! admin key: unset — fix: set it');
  assert.equal(formatCheck(fail('db_proxy x:1', 'refused', 'start it')), '✗ db_proxy x:1: refused — fix: start it');
  assert.equal(
    summaryLine([ok('a', ''), warn('b', '', ''), fail('c', '', ''), fail('d', '', '')]),
    '4 checks: 1 ok, 1 warning, 2 failures: will not work as configured',
  );
});

test('--probe-pair takes two different user ids; --timeout seconds', () => {
  assert.deepEqual(parseDoctorArgs([]), { probePair: undefined, timeoutMs: 3000, json: false });
  assert.deepEqual(parseDoctorArgs(['--probe-pair', '1,2', '--timeout', '1.5', '--json']), {
    probePair: [1, 2],
    timeoutMs: 1500,
    json: true,
  });
  assert.equal(parseDoctorArgs(['-h']), 'help');
  for (const bad of [
    ['--probe-pair', '1'],
    ['--probe-pair', '1,1'],
    ['--probe-pair', '1,x'],
    ['--probe-pair', '0,2'],
    ['--timeout', '0'],
    ['--timeout', '61'],
    ['--nope'],
  ]) {
    assert.throws(() => parseDoctorArgs(bad), UsageError, bad.join(' '));
  }
});

test('a Redis URL is printed without its credentials', () => {
  assert.equal(safeRedisUrl('redis://user:s3cret@10.0.0.5:6379/0'), 'redis://10.0.0.5:6379/0');
  assert.equal(safeRedisUrl('redis://:s3cret@h:1'), 'redis://h:1');
  assert.equal(safeRedisUrl('redis://h:1'), 'redis://h:1');
  assert.ok(!safeRedisUrl('rediss://a:pw@h:1').includes('pw'));
});
