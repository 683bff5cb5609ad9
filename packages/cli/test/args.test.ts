import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFlags, parseHostPort, parseInteger, parsePort, parseSeconds, required, UsageError } from '../src/args.ts';

test('parseFlags returns typed values and refuses unknown flags and positionals', () => {
  const options = { name: { type: 'string' }, verbose: { type: 'boolean' } } as const;
  assert.deepEqual({ ...parseFlags(['--name', 'x', '--verbose'], options) }, { name: 'x', verbose: true });
  assert.throws(
    () => parseFlags(['--nope'], options),
    (err: unknown) => {
      assert.ok(err instanceof UsageError);
      assert.equal(err.code, 'CLI_BAD_ARGUMENTS');
      assert.match(err.message, /--nope/);
      return true;
    },
  );
  assert.throws(() => parseFlags(['stray'], options), UsageError);
  assert.throws(() => parseFlags(['--name'], options), /--name/);
});

test('required names the missing flag', () => {
  assert.equal(required('a', '--user'), 'a');
  assert.throws(() => required(undefined, '--user'), /--user is required/);
  assert.throws(() => required('', '--user'), /--user is required/);
});

test('parseInteger and parsePort take decimal integers in range only', () => {
  assert.equal(parseInteger('42', '--count', { min: 1 }), 42);
  for (const bad of ['0', '-1', '1.5', 'abc', '', '1e3', '0x10']) {
    assert.throws(() => parseInteger(bad, '--count', { min: 1 }), /--count must be an integer/, bad);
  }
  assert.equal(parsePort('0', '--msg-port'), 0);
  assert.equal(parsePort('65535', '--msg-port'), 65535);
  assert.throws(() => parsePort('65536', '--msg-port'), /--msg-port/);
});

test('parseSeconds accepts positive seconds with fractions and returns milliseconds', () => {
  assert.equal(parseSeconds('20', '--timeout'), 20_000);
  assert.equal(parseSeconds('0.25', '--timeout'), 250);
  for (const bad of ['0', '-1', 'soon', '', '99999999']) {
    assert.throws(() => parseSeconds(bad, '--timeout'), /--timeout must be a positive number/, bad);
  }
});

test('parseHostPort reads HOST:PORT and [IPv6]:PORT', () => {
  assert.deepEqual(parseHostPort('127.0.0.1:8000', '--server'), { host: '127.0.0.1', port: 8000 });
  assert.deepEqual(parseHostPort('msg.example:1', '--server'), { host: 'msg.example', port: 1 });
  assert.deepEqual(parseHostPort('[::1]:8000', '--server'), { host: '::1', port: 8000 });
  for (const bad of ['127.0.0.1', ':8000', '127.0.0.1:', '127.0.0.1:0', '127.0.0.1:70000', '::1:8000', 'a:b']) {
    assert.throws(() => parseHostPort(bad, '--server'), /--server/, bad);
  }
});
