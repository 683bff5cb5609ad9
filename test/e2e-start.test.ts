// `ttpush start` as a newcomer meets it: one per data folder, keys that survive a restart, readable logs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@ttpush/testkit';
import { BIN, REPO, StartedTtpush, running, waitFor } from './helpers/start-process.ts';

const dirs: string[] = [];
const started: StartedTtpush[] = [];
function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ttpush-start-'));
  dirs.push(d);
  return d;
}
async function start(opts: Parameters<typeof StartedTtpush.start>[0]): Promise<StartedTtpush> {
  const s = await StartedTtpush.start(opts);
  started.push(s);
  return s;
}
after(async () => {
  await Promise.all(started.map((s) => s.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Runs `ttpush start` expecting it to refuse; resolves with its exit code and output. */
function runRefused(env: Record<string, string>): Promise<{ code: number | null; text: string }> {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('TTPUSH_')) clean[k] = v;
  const child = spawn(process.execPath, [BIN, 'start'], {
    cwd: REPO,
    env: { ...clean, TTPUSH_SANDBOX_PORTS: '0,0,0', TTPUSH_LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr.on('data', (d: Buffer) => (text += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the second ttpush start did not exit:\n${text}`));
    }, 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, text });
    });
  });
}

async function send(url: string, key: string): Promise<{ status: number; body: any }> {
  const r = await fetch(`${url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ from: 1, to: { user: 2 }, content: 'hello' }),
  });
  return { status: r.status, body: await r.json() };
}

test('a second ttpush start on the same data folder refuses, naming the holder and TTPUSH_DATA_DIR; the first goes on', async () => {
  const dir = dataDir();
  const first = await start({ dataDir: dir, env: { TTPUSH_LOG_FORMAT: 'pretty' } });
  const lock = JSON.parse(readFileSync(join(dir, 'ttpush.lock'), 'utf8')) as { pid: number; redisUrl: string };
  assert.equal(lock.pid, first.pid);

  const second = await runRefused({ TTPUSH_DATA_DIR: dir, TTPUSH_HTTP_PORT: String(await freePort()) });
  assert.equal(second.code, 2, second.text);
  assert.match(second.text, new RegExp(`data folder ${dir} is in use by another ttpush start \\(pid ${first.pid}\\b`));
  assert.match(second.text, /TTPUSH_DATA_DIR=\S+ TTPUSH_HTTP_PORT=\d+ TTPUSH_SANDBOX_PORTS=0,0,0 npm start/);
  assert.ok(second.text.includes(`TTPUSH_REDIS_URL=${lock.redisUrl} `), second.text);
  assert.ok(second.text.includes(`kill ${first.pid}`), second.text);
  assert.doesNotMatch(second.text, /started a private redis-server/);

  // The first one still serves, and its lock still names it.
  assert.equal((await fetch(`${first.url}/readyz`)).status, 200);
  assert.equal(JSON.parse(readFileSync(join(dir, 'ttpush.lock'), 'utf8')).pid, first.pid);
  // TTPUSH_LOG_FORMAT=pretty: one readable line per entry.
  assert.match(first.output(), /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(ttpush-api\): api listening/m);

  const { code } = await first.stop();
  assert.equal(code, 0, first.output());
  assert.throws(() => statSync(join(dir, 'ttpush.lock')), /ENOENT/);
});

test('a lock whose holder is dead is taken over with a log line', async () => {
  const dir = dataDir();
  // A pid that ran and ended: nothing holds the folder.
  const gone = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => gone.once('exit', r));
  await waitFor(
    () => 'pid still running',
    () => !running(gone.pid!),
  );
  writeFileSync(join(dir, 'ttpush.lock'), JSON.stringify({ pid: gone.pid, started: '2026-01-01T00:00:00.000Z' }));
  const s = await start({ dataDir: dir });
  assert.match(s.output(), new RegExp(`"stalePid":${gone.pid}.*taking it over`));
  assert.equal(JSON.parse(readFileSync(join(dir, 'ttpush.lock'), 'utf8')).pid, s.pid);
  await s.stop();
});

test('keys are kept (0600) and reused after a restart; --new-keys makes new ones and a stale key gets a 401 that says where the current one is', async () => {
  const dir = dataDir();
  const port = await freePort();
  const first = await start({ dataDir: dir, port });
  const key = first.apiKey();
  assert.match(first.output(), /Keys: new, kept in \S+keys\.json/);
  const file = join(dir, 'keys.json');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const kept = JSON.parse(readFileSync(file, 'utf8')) as { dev_app_key: string; admin_key: string };
  assert.equal(kept.dev_app_key, key);
  const sent = await send(first.url, key);
  assert.equal(sent.status, 202);
  // The key never goes into the structured log.
  const logLines = first
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'));
  assert.ok(logLines.length > 0);
  assert.ok(!logLines.some((l) => l.includes(key) || l.includes(kept.admin_key)));
  await first.stop();

  // A restart: the same key is printed, and the one exported in another terminal still works.
  const second = await start({ dataDir: dir, port });
  assert.equal(second.apiKey(), key);
  assert.match(second.output(), /Keys: the same as at the last start, kept in \S+keys\.json/);
  const again = await fetch(`${second.url}/v1/messages/${sent.body.id}`, {
    headers: { authorization: `Bearer ${key}` },
  });
  assert.equal(again.status, 200);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  await second.stop();

  const third = await start({ dataDir: dir, port, args: ['--new-keys'] });
  const fresh = third.apiKey();
  assert.notEqual(fresh, key);
  assert.match(third.output(), /Keys: NEW \(--new-keys\)/);
  assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { dev_app_key: string }).dev_app_key, fresh);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const stale = await send(third.url, key);
  assert.equal(stale.status, 401);
  assert.equal(stale.body.error.code, 'unauthorized');
  assert.match(stale.body.error.message, /`ttpush start` \(npm start\) prints the development key at each start/);
  assert.equal((await send(third.url, fresh)).status, 202);
  // The admin key was renewed too; a wrong one is told where the current one is.
  const adminKey = [...third.output().matchAll(/export TTPUSH_ADMIN_KEY=(\S+)/g)].at(-1)![1]!;
  assert.notEqual(adminKey, kept.admin_key);
  const overview = await fetch(`${third.url}/console/api/overview`, {
    headers: { authorization: `Bearer ${kept.admin_key}` },
  });
  assert.equal(overview.status, 401);
  assert.match(((await overview.json()) as any).error.message, /prints it at each start and keeps it in keys\.json/);
  await third.stop();
});

test('the probes are logged at debug: at info, the log shows requests but no /readyz or /healthz line', async () => {
  const s = await start({ dataDir: dataDir() });
  // start() polled /readyz until ready; one /healthz more, then a request that is logged.
  assert.equal((await fetch(`${s.url}/healthz`)).status, 200);
  assert.equal((await send(s.url, s.apiKey())).status, 202);
  await s.waitOutput(/"path":"\/v1\/messages","status":202/);
  assert.doesNotMatch(s.output(), /"path":"\/(readyz|healthz)"/);
  await s.stop();
});

test('ttpush doctor with nothing configured checks the ttpush start running on its data folder', async () => {
  const dir = dataDir();
  const first = await start({ dataDir: dir });
  const lock = JSON.parse(readFileSync(join(dir, 'ttpush.lock'), 'utf8')) as { redisUrl: string; dbProxyAddrs: string };
  await waitFor(
    () => 'the api ready',
    async () => (await fetch(`${first.url}/readyz`)).status === 200,
    20_000,
  );
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('TTPUSH_')) clean[k] = v;
  const child = spawn(process.execPath, [BIN, 'doctor', '--json', '--timeout', '5'], {
    cwd: REPO,
    env: { ...clean, TTPUSH_DATA_DIR: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const report = JSON.parse(out) as { checks: { status: string; name: string; detail: string }[] };
  const named = (re: RegExp) => report.checks.filter((c) => re.test(c.name));
  assert.match(named(/^ttpush start$/)[0]?.detail ?? '', new RegExp(`TTPUSH_REDIS_URL=${lock.redisUrl}`), out);
  assert.equal(named(/^redis .* memory policy$/)[0]?.status, 'ok', out);
  assert.equal(named(new RegExp(`^db_proxy ${lock.dbProxyAddrs} heartbeat$`))[0]?.status, 'ok', out);
  assert.equal(named(/^admin key$/)[0]?.status, 'ok', out);
  assert.ok(
    report.checks.some((c) => /^worker /.test(c.name) && c.status === 'ok'),
    out,
  );
  // What is left is the stock AES key and no --probe-pair: warnings, not failures.
  assert.equal(code, 1, out);
  assert.ok(
    !out.includes(readFileSync(join(dir, 'keys.json'), 'utf8').match(/adm_[\w-]+/)![0]),
    'no admin key printed',
  );
});
