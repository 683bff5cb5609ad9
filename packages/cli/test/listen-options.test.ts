import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseListenArgs, STOCK_AES_KEY } from '../src/listen/options.ts';
import { UsageError } from '../src/args.ts';

const base = ['--server', '127.0.0.1:8000', '--user', '2', '--password', 'x'];

test('listen options: defaults are the stock key, no count and no timeout', () => {
  assert.deepEqual(parseListenArgs(base), {
    host: '127.0.0.1',
    port: 8000,
    userName: '2',
    password: 'x',
    aesKey: STOCK_AES_KEY,
    count: undefined,
    timeoutMs: undefined,
  });
});

test('listen options: --count, --timeout and --aes-key are read', () => {
  const key = 'abcdefghijklmnopqrstuvwxyz012345';
  const options = parseListenArgs([...base, '--count', '3', '--timeout', '1.5', '--aes-key', key]);
  assert.ok(options !== 'help');
  assert.equal(options.count, 3);
  assert.equal(options.timeoutMs, 1500);
  assert.equal(options.aesKey, key);
});

test('listen options: an empty password is allowed, a missing one is not', () => {
  const options = parseListenArgs(['--server', 'h:1', '--user', 'u', '--password', '']);
  assert.ok(options !== 'help');
  assert.equal(options.password, '');
  assert.throws(() => parseListenArgs(['--server', 'h:1', '--user', 'u']), /--password is required/);
});

test('listen options: --help wins over everything else', () => {
  assert.equal(parseListenArgs(['--help']), 'help');
  assert.equal(parseListenArgs(['-h', '--server', 'bad']), 'help');
});

test('listen options: bad values name the flag and never echo the key', () => {
  const cases: [string[], RegExp][] = [
    [['--user', '2', '--password', 'x'], /--server is required/],
    [['--server', '127.0.0.1:8000', '--password', 'x'], /--user is required/],
    [[...base, '--count', '0'], /--count/],
    [[...base, '--timeout', 'never'], /--timeout/],
    [[...base, '--bogus'], /--bogus/],
  ];
  for (const [argv, message] of cases) assert.throws(() => parseListenArgs(argv), message, argv.join(' '));
  assert.throws(
    () => parseListenArgs([...base, '--aes-key', 'short-secret']),
    (err: unknown) =>
      err instanceof UsageError &&
      /--aes-key must be exactly 32/.test(err.message) &&
      !/short-secret/.test(err.message),
  );
});
