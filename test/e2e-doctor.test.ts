// `ttpush doctor` as an operator runs it, against the sandbox TeamTalk, real redis-servers and a live
// worker: a good configuration, then each misconfiguration the doctor exists for (a wrong AES key with a
// stored message of the probe pair, a dead db_proxy address, Redis with eviction, no admin key, CONFIG
// disabled). The runs go side by side: each waits ~5 s for the servers' heartbeats.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort, RedisServer } from '@ttpush/testkit';
import { Harness } from './helpers/harness.ts';

const BIN = fileURLToPath(new URL('../packages/cli/bin/ttpush.mjs', import.meta.url));
const KEY_A = 'A'.repeat(16) + 'a'.repeat(16);
const KEY_B = 'B'.repeat(16) + 'b'.repeat(16);
const ADMIN = 'admin-key-for-the-doctor-test-0001';

interface Check {
  status: 'ok' | 'warn' | 'fail';
  name: string;
  detail: string;
  fix: string | null;
}
interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

let h: Harness;
let evicting: RedisServer;
let noConfig: RedisServer;
let deadPort: number;
const runs: Record<string, Promise<Ran>> = {};

function doctor(env: Record<string, string | undefined>, args: string[]): Promise<Ran> {
  const merged: Record<string, string | undefined> = { ...process.env, ...env };
  for (const k of Object.keys(merged)) if (k.startsWith('TTPUSH_') && !(k in env)) delete merged[k];
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
  const started = Date.now();
  const child = spawn(process.execPath, [BIN, 'doctor', ...args], { env: merged, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ttpush doctor did not exit in 60 s\n${stdout}\n${stderr}`));
    }, 60_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

const checksOf = (r: Ran): Check[] => (JSON.parse(r.stdout) as { checks: Check[] }).checks;
const notOk = (r: Ran) => checksOf(r).filter((c) => c.status !== 'ok');

before(async () => {
  h = await Harness.start({
    redis: { persistence: 'everysec' },
    env: { TTPUSH_AES_KEY: KEY_A, TTPUSH_ADMIN_KEY: ADMIN },
  });
  evicting = await RedisServer.start({ persistence: 'everysec', extraArgs: ['--maxmemory-policy', 'allkeys-lru'] });
  noConfig = await RedisServer.start({ persistence: 'everysec', extraArgs: ['--rename-command', 'CONFIG', ''] });
  deadPort = await freePort();
  // A stored message of the probe pair, encrypted with key A by the worker.
  const sent = await h.post('/v1/messages?wait=10', { from: 1, to: { user: 2 }, content: 'probe me' });
  assert.equal(sent.body.status, 'sent', JSON.stringify(sent.body));

  const good = {
    TTPUSH_REDIS_URL: h.redis.url,
    TTPUSH_DB_PROXY_ADDRS: `127.0.0.1:${h.sandbox.dbProxy.port}`,
    TTPUSH_ROUTE_ADDRS: `127.0.0.1:${h.sandbox.route.port}`,
    TTPUSH_AES_KEY: KEY_A,
    TTPUSH_ADMIN_KEY: ADMIN,
  };
  const probe = ['--probe-pair', '1,2', '--json'];
  runs.good = doctor(good, probe);
  runs.goodText = doctor(good, ['--probe-pair', '1,2']);
  runs.wrongKey = doctor({ ...good, TTPUSH_AES_KEY: KEY_B }, probe);
  runs.deadDbProxy = doctor(
    { ...good, TTPUSH_DB_PROXY_ADDRS: `${good.TTPUSH_DB_PROXY_ADDRS},127.0.0.1:${deadPort}` },
    probe,
  );
  runs.eviction = doctor({ ...good, TTPUSH_REDIS_URL: evicting.url }, probe);
  runs.noAdmin = doctor({ ...good, TTPUSH_ADMIN_KEY: undefined }, probe);
  runs.noConfig = doctor({ ...good, TTPUSH_REDIS_URL: noConfig.url }, probe);
  runs.noProbe = doctor(good, ['--json']);
  await Promise.allSettled(Object.values(runs));
});

after(async () => {
  await h?.stop();
  await evicting?.stop();
  await noConfig?.stop();
});

test('a good configuration: every check ok, exit 0, the worker and its connections listed', async () => {
  const r = await runs.good!;
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual(notOk(r), []);
  const checks = checksOf(r);
  const names = checks.map((c) => c.name);
  for (const part of [
    'persistence',
    'memory policy',
    'version',
    'cluster',
    'heartbeat',
    'AES key',
    'route master',
    'worker ',
    'admin key',
    'webhook allow-list',
  ]) {
    assert.ok(
      names.some((n) => n.includes(part)),
      `a check of ${part}: ${names.join(' | ')}`,
    );
  }
  const key = checks.find((c) => c.name.endsWith('AES key'))!;
  assert.match(key.detail, /decrypts with TTPUSH_AES_KEY/);
  assert.match(checks.find((c) => c.name.startsWith('worker '))!.detail, /db_proxy 127\.0\.0\.1:\d+ ready/);
  assert.match(checks.find((c) => c.name.endsWith('persistence'))!.detail, /everysec.*except the last second/);
  // No secret in the output.
  assert.ok(!r.stdout.includes(KEY_A) && !r.stdout.includes(ADMIN));
});

test('the human output: one line per check with ✓, then a summary', async () => {
  const r = await runs.goodText!;
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.ok(
    lines.slice(0, -1).every((l) => l.startsWith('✓ ')),
    r.stdout,
  );
  assert.match(lines.at(-1)!, /^\d+ checks: \d+ ok, 0 warnings, 0 failures: all good$/);
});

test('a wrong AES key, with a stored message of the probe pair: exit 2 naming the AES key', async () => {
  const r = await runs.wrongKey!;
  assert.equal(r.code, 2, r.stdout + r.stderr);
  const bad = notOk(r);
  assert.deepEqual(
    bad.map((c) => [c.status, c.name.replace(/\d+/g, 'N')]),
    [['fail', 'db_proxy N.N.N.N:N AES key']],
  );
  assert.match(bad[0]!.detail, /does not decrypt with TTPUSH_AES_KEY.*the AES key is wrong/);
  assert.match(bad[0]!.fix!, /set TTPUSH_AES_KEY/);
  assert.ok(!r.stdout.includes(KEY_B));
});

test('a dead db_proxy address: exit 2 naming it, within the connect deadline, the live one still checked', async () => {
  const r = await runs.deadDbProxy!;
  assert.equal(r.code, 2, r.stdout + r.stderr);
  const bad = notOk(r);
  assert.equal(bad.length, 1, JSON.stringify(bad));
  assert.equal(bad[0]!.name, `db_proxy 127.0.0.1:${deadPort}`);
  assert.match(bad[0]!.detail, /TCP connect failed: ECONNREFUSED/);
  assert.match(bad[0]!.fix!, /TTPUSH_DB_PROXY_ADDRS/);
  assert.ok(checksOf(r).some((c) => c.name.endsWith('AES key') && c.status === 'ok'));
  assert.ok(r.ms < 30_000, `took ${r.ms} ms`);
});

test('Redis with eviction: exit 2, the memory policy fails with the fix', async () => {
  const r = await runs.eviction!;
  assert.equal(r.code, 2, r.stdout + r.stderr);
  const bad = notOk(r);
  // A worker heartbeat lives in the harness's Redis, not this one: "none alive" is the expected warning.
  assert.deepEqual(
    bad.map((c) => [c.status, c.name.replace(/\d+/g, 'N')]),
    [
      ['fail', 'redis redis://N.N.N.N:N memory policy'],
      ['warn', 'workers'],
    ],
  );
  assert.match(bad[0]!.detail, /allkeys-lru/);
  assert.match(bad[0]!.fix!, /noeviction/);
});

test('no admin key: exit 1 with the admin-key warning, nothing else', async () => {
  const r = await runs.noAdmin!;
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.deepEqual(
    notOk(r).map((c) => [c.status, c.name]),
    [['warn', 'admin key']],
  );
});

test('CONFIG disabled: persistence unknown is a warning, not a crash; the policy is read from INFO', async () => {
  const r = await runs.noConfig!;
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const checks = checksOf(r);
  const persistence = checks.find((c) => c.name.endsWith('persistence'))!;
  assert.equal(persistence.status, 'warn');
  assert.match(persistence.detail, /unknown/);
  assert.equal(checks.find((c) => c.name.endsWith('memory policy'))!.status, 'ok');
});

test('without --probe-pair the AES key is not checked: a warning saying how to check it', async () => {
  const r = await runs.noProbe!;
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const bad = notOk(r);
  assert.equal(bad.length, 1, JSON.stringify(bad));
  assert.match(bad[0]!.detail, /no --probe-pair/);
});
