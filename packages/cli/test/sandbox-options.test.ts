import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSandboxArgs, type SandboxCommandOptions } from '../src/sandbox/options.ts';
import { GroupsFileError, parseGroups, readGroupsFile } from '../src/sandbox/groups-file.ts';
import { startFailureText } from '../src/sandbox/start-failure.ts';
import { UsageError } from '../src/args.ts';

test('sandbox options: defaults are the stock ports on 127.0.0.1', () => {
  assert.deepEqual(parseSandboxArgs([]), {
    host: '127.0.0.1',
    dbPort: 10600,
    routePort: 8200,
    msgPort: 8000,
    aesKey: '12345678901234567890123456789012',
    groupsFile: undefined,
    reorderDelayMs: 0,
    realistic: false,
    parkedThreads: 0,
    dbThreadPool: undefined,
    logLevel: 'info',
    json: false,
  });
});

test('sandbox options: every flag is read', () => {
  const options = parseSandboxArgs([
    '--host=0.0.0.0',
    '--db-port=1',
    '--route-port=2',
    '--msg-port=0',
    '--aes-key=abcdefghijklmnopqrstuvwxyz012345',
    '--groups=g.json',
    '--reorder-ms=25',
    '--realistic',
    '--parked-threads=1',
    '--log-level=debug',
    '--json',
  ]);
  assert.ok(options !== 'help');
  assert.equal(options.host, '0.0.0.0');
  assert.deepEqual([options.dbPort, options.routePort, options.msgPort], [1, 2, 0]);
  assert.equal(options.groupsFile, 'g.json');
  assert.equal(options.reorderDelayMs, 25);
  assert.equal(options.realistic, true);
  assert.equal(options.parkedThreads, 1);
  assert.equal(options.logLevel, 'debug');
  assert.equal(options.json, true);
});

test('sandbox options: --db-pool and its settings', () => {
  const pool = (argv: string[]) => {
    const options = parseSandboxArgs(argv);
    assert.ok(options !== 'help');
    return options.dbThreadPool;
  };
  assert.deepEqual(pool(['--db-pool']), { threads: 4, storeMs: { min: 0.3, max: 3 }, maxPerSecond: 0 });
  assert.deepEqual(pool(['--db-pool', '--db-threads=8', '--db-store-ms=1-2.5', '--db-max-rate=3000']), {
    threads: 8,
    storeMs: { min: 1, max: 2.5 },
    maxPerSecond: 3000,
  });
  assert.equal(pool(['--db-threads=8']), undefined, 'settings without --db-pool: answers at once');
  const options = parseSandboxArgs(['--db-pool', '--db-threads=8', '--parked-threads=6']);
  assert.ok(options !== 'help');
  assert.equal(options.parkedThreads, 6, 'of the pool threads');
  const cases: [string[], RegExp][] = [
    [['--db-pool', '--db-threads=0'], /--db-threads/],
    [['--db-pool', '--db-store-ms=3-1'], /--db-store-ms must be MIN-MAX/],
    [['--db-pool', '--db-max-rate=x'], /--db-max-rate/],
    [['--db-pool', '--parked-threads=5'], /--parked-threads/],
    [['--db-pool', '--realistic'], /exclude each other/],
  ];
  for (const [argv, message] of cases) assert.throws(() => parseSandboxArgs(argv), message, argv.join(' '));
});

test('sandbox options: bad values name the flag, and a bad key is never echoed', () => {
  const cases: [string[], RegExp][] = [
    [['--db-port', '70000'], /--db-port/],
    [['--msg-port', 'x'], /--msg-port/],
    [['--reorder-ms', '-5'], /--reorder-ms/],
    [['--parked-threads', '5'], /--parked-threads/],
    [['--log-level', 'loud'], /--log-level must be one of/],
    [['--host', ''], /--host/],
    [['extra'], /extra/],
  ];
  for (const [argv, message] of cases) assert.throws(() => parseSandboxArgs(argv), message, argv.join(' '));
  assert.throws(
    () => parseSandboxArgs(['--aes-key', 'my-real-secret']),
    (err: unknown) => err instanceof UsageError && /--aes-key/.test(err.message) && !/my-real-secret/.test(err.message),
  );
});

test('groups: a valid file maps group ids to deduplicated member ids', () => {
  assert.deepEqual(parseGroups('{"100": [1, 2, 2, 3], "4294967295": []}', 'g.json'), {
    '100': [1, 2, 3],
    '4294967295': [],
  });
});

test('groups: each kind of mistake is named', () => {
  const cases: [string, RegExp][] = [
    ['{"100": [1, 2', /g\.json is not JSON/],
    ['[1, 2]', /must hold a JSON object/],
    ['null', /must hold a JSON object/],
    ['{"abc": [1]}', /group id "abc" is not a positive integer/],
    ['{"0": [1]}', /group id "0"/],
    ['{"-5": [1]}', /group id "-5"/],
    ['{"1.5": [1]}', /group id "1.5"/],
    ['{"4294967296": [1]}', /group id "4294967296"/],
    ['{"100": 1}', /members of group 100 must be an array/],
    ['{"100": [1, 0]}', /group 100 has member 0/],
    ['{"100": [1, "2"]}', /group 100 has member "2"/],
    ['{"100": [1.5]}', /group 100 has member 1.5/],
    ['{"100": [-1]}', /group 100 has member -1/],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseGroups(text, 'g.json'),
      (err: unknown) => err instanceof GroupsFileError && message.test(err.message),
      text,
    );
  }
});

test('groups: a missing file or a folder is named', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ttpush-groups-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await assert.rejects(readGroupsFile(join(dir, 'nope.json')), /nope\.json: cannot read it: no such file/);
  await assert.rejects(readGroupsFile(dir), /cannot read it: it is a folder/);
  writeFileSync(join(dir, 'ok.json'), '{"7": [1, 2]}');
  assert.deepEqual(await readGroupsFile(join(dir, 'ok.json')), { '7': [1, 2] });
});

test('a busy port names the server and the flag that changes it, also behind a wrapping error', () => {
  const options = parseSandboxArgs([
    '--db-port',
    '1000',
    '--route-port',
    '2000',
    '--msg-port',
    '3000',
  ]) as SandboxCommandOptions;
  const busy = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:2000'), {
    code: 'EADDRINUSE',
    syscall: 'listen',
    port: 2000,
  });
  assert.equal(
    startFailureText(busy, options),
    'route_server port 127.0.0.1:2000 is already in use: choose another with --route-port',
  );
  const wrapped = new Error('route_server failed to start', { cause: busy });
  assert.match(
    startFailureText(wrapped, options),
    /port 127\.0\.0\.1:2000 is already in use: choose another with --route-port/,
  );
  assert.match(startFailureText(new Error('boom'), options), /cannot start the sandbox: boom/);
});
