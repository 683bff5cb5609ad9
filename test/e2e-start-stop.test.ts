// How `ttpush start` ends: one Ctrl-C to its process group is one clean stop (in-flight messages end sent, nothing
// forced), and however its parent or itself is killed, no process of its tree outlives it, no port stays held.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandbox } from '@ttpush/sandbox';
import { StartedTtpush, commandOf, descendants, listening, running, waitFor } from './helpers/start-process.ts';

const DEV_KEY = 'dev-key-for-start-tests-0123';
const dirs: string[] = [];
const started: StartedTtpush[] = [];
/** Every process seen in a tree: killed at the end should a test fail and leave one behind. */
const seen = new Set<number>();
function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ttpush-stop-'));
  dirs.push(d);
  return d;
}
async function start(opts: Parameters<typeof StartedTtpush.start>[0]): Promise<StartedTtpush> {
  const s = await StartedTtpush.start(opts);
  started.push(s);
  return s;
}
after(async () => {
  await Promise.all(started.map((s) => s.stop('SIGKILL')));
  for (const pid of seen) {
    try {
      if (running(pid)) process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function exitWithin(s: StartedTtpush, ms: number) {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    s.exited.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`ttpush start did not exit in ${ms} ms:\n${s.output()}`)), ms);
    }),
  ]);
}

/** The processes of its tree and the ports it holds (api, private Redis), to check that none is left. */
function footprint(s: StartedTtpush, rootPid = s.pid) {
  const lock = JSON.parse(readFileSync(join(s.dataDir, 'ttpush.lock'), 'utf8')) as {
    redisUrl: string;
    redisPid: number;
  };
  const pids = descendants(rootPid);
  for (const p of pids) seen.add(p);
  assert.ok(pids.includes(lock.redisPid), `redis-server ${lock.redisPid} is in the tree ${pids.map(commandOf)}`);
  assert.ok(pids.filter((p) => / (api|worker)$/.test(commandOf(p))).length >= 2, 'api and worker in the tree');
  return { pids, ports: [s.port, Number(new URL(lock.redisUrl).port)] };
}

async function assertAllGone(s: StartedTtpush, fp: { pids: number[]; ports: number[] }, timeoutMs = 60_000) {
  await waitFor(
    () =>
      `still running: ${fp.pids
        .filter(running)
        .map((p) => `${p} ${commandOf(p)}`)
        .join('; ')}\n${s.output()}`,
    () => fp.pids.every((p) => !running(p)),
    timeoutMs,
  );
  for (const port of fp.ports) assert.equal(await listening(port), false, `port ${port} is still held`);
}

async function sendTo(url: string, to: number, text: string): Promise<string> {
  const r = await fetch(`${url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${DEV_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ from: 1, to: { user: to }, content: text }),
  });
  const body = (await r.json()) as { id: string };
  assert.equal(r.status, 202, JSON.stringify(body));
  return body.id;
}

test('one Ctrl-C to the process group: in-flight messages end sent, nothing is forced, everything stops', async () => {
  // The sandbox runs here, so its store outlives the two runs of ttpush start.
  const sandbox = await startSandbox({});
  try {
    const dir = dataDir();
    const env = {
      TTPUSH_DB_PROXY_ADDRS: `127.0.0.1:${sandbox.dbProxy.port}`,
      TTPUSH_ROUTE_ADDRS: `127.0.0.1:${sandbox.route.port}`,
      TTPUSH_DEV_APP_KEY: DEV_KEY,
    };
    const s = await start({ dataDir: dir, env });
    const fp = footprint(s);
    // db_proxy answers each request 1.5 s late: messages are in flight when Ctrl-C comes.
    sandbox.dbProxy.setFault({ delayMs: 1500 });
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push(await sendTo(s.url, 3000 + i, `ctrl-c ${i}`));
    await waitFor(
      () => 'nothing in flight at db_proxy',
      () => sandbox.dbProxy.inFlight > 0,
    );
    const inFlight = sandbox.dbProxy.inFlight;
    const storedBefore = sandbox.store.count();

    s.signal('SIGINT', true);
    const { code } = await exitWithin(s, 40_000);
    const out = s.output();
    assert.equal(code, 0, out);
    assert.match(out, /ttpush start: Ctrl-C: the workers finish what they are sending/);
    assert.match(out, /"msg":"worker stopped"/);
    assert.match(out, /ttpush start: stopped/);
    assert.doesNotMatch(out, / again: |exiting now|forcing|did not finish in time/i);
    // What was in flight was answered and recorded before the worker left, not cut off.
    assert.ok(
      sandbox.store.count() >= storedBefore + inFlight,
      `${inFlight} in flight at Ctrl-C, ${sandbox.store.count() - storedBefore} stored since`,
    );
    await assertAllGone(s, fp);

    // The next start finds the rest queued; every message ends sent, each stored exactly once.
    sandbox.dbProxy.setFault({ delayMs: 0 });
    const next = await start({ dataDir: dir, env });
    const statuses = await waitFor(
      () => 'messages not all terminal',
      async () => {
        const views = await Promise.all(
          ids.map(async (id) => {
            const r = await fetch(`${next.url}/v1/messages/${id}`, { headers: { authorization: `Bearer ${DEV_KEY}` } });
            return ((await r.json()) as { status: string }).status;
          }),
        );
        return views.every((v) => ['sent', 'failed', 'cancelled'].includes(v)) ? views : undefined;
      },
      60_000,
    );
    assert.deepEqual(new Set(statuses), new Set(['sent']));
    for (let i = 0; i < 30; i++) assert.equal(sandbox.store.singleMessages(1, 3000 + i).length, 1, `user ${3000 + i}`);
    await next.stop();
  } finally {
    await sandbox.close();
  }
});

test('a second Ctrl-C more than a second later forces: everything exits at once, and nothing is sent twice', async () => {
  const sandbox = await startSandbox({});
  try {
    const dir = dataDir();
    const env = {
      TTPUSH_DB_PROXY_ADDRS: `127.0.0.1:${sandbox.dbProxy.port}`,
      TTPUSH_ROUTE_ADDRS: `127.0.0.1:${sandbox.route.port}`,
      TTPUSH_DEV_APP_KEY: DEV_KEY,
    };
    const s = await start({ dataDir: dir, env });
    const fp = footprint(s);
    // db_proxy holds each request for 20 s: a clean stop would wait for it, a forced one does not.
    sandbox.dbProxy.setFault({ delayMs: 20_000 });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await sendTo(s.url, 4000 + i, `forced ${i}`));
    await waitFor(
      () => 'nothing in flight at db_proxy',
      () => sandbox.dbProxy.inFlight > 0,
    );
    const first = Date.now();
    s.signal('SIGINT', true);
    await s.waitOutput(/ttpush start: Ctrl-C: the workers finish/);
    await waitFor(
      () => 'time',
      () => Date.now() - first > 1500,
    );
    s.signal('SIGINT', true);
    const { code } = await exitWithin(s, 15_000);
    assert.equal(code, 1, s.output());
    assert.match(s.output(), /ttpush start: Ctrl-C again: forcing everything to stop now/);
    assert.match(s.output(), /ttpush: SIGTERM again: exiting now/);
    assert.match(s.output(), /ttpush start: stopped \(forced\)/);
    await assertAllGone(s, fp);

    // The next start reads back what was cut off: each message ends sent, stored once.
    sandbox.dbProxy.setFault({ delayMs: 0 });
    const next = await start({ dataDir: dir, env });
    await waitFor(
      () => 'messages not all sent',
      async () => {
        const views = await Promise.all(
          ids.map(async (id) => {
            const r = await fetch(`${next.url}/v1/messages/${id}`, { headers: { authorization: `Bearer ${DEV_KEY}` } });
            return ((await r.json()) as { status: string }).status;
          }),
        );
        return views.every((v) => v === 'sent');
      },
      90_000,
    );
    for (let i = 0; i < 5; i++) assert.equal(sandbox.store.singleMessages(1, 4000 + i).length, 1, `user ${4000 + i}`);
    await next.stop();
  } finally {
    await sandbox.close();
  }
});

test('SIGTERM to ttpush start: a clean stop, no process of its tree left, its ports free', async () => {
  const s = await start({ dataDir: dataDir() });
  const fp = footprint(s);
  s.signal('SIGTERM');
  const { code } = await exitWithin(s, 40_000);
  assert.equal(code, 0, s.output());
  assert.doesNotMatch(s.output(), / again: |exiting now|forcing/i);
  await assertAllGone(s, fp);
});

test('SIGKILL to ttpush start: the api and worker stop by themselves, redis-server follows, the ports are freed', async () => {
  const s = await start({ dataDir: dataDir() });
  const fp = footprint(s);
  s.signal('SIGKILL');
  await exitWithin(s, 10_000);
  await assertAllGone(s, fp);
  assert.equal((s.output().match(/ttpush start is gone: stopping/g) ?? []).length, 2, s.output());
});

test('kill <pid of npm start>: ttpush start notices and stops everything cleanly', async () => {
  const s = await start({ dataDir: dataDir(), viaNpm: true });
  const fp = footprint(s);
  s.signal('SIGTERM');
  await assertAllGone(s, fp);
  assert.match(s.output(), /ttpush start: stopped/);
  assert.doesNotMatch(s.output(), / again: |exiting now|forcing/i);
});

test('kill -9 <pid of npm start>: the sh -c npm left behind is no shield, ttpush start stops everything', async () => {
  const s = await start({ dataDir: dataDir(), viaNpm: true });
  const fp = footprint(s);
  s.signal('SIGKILL');
  await assertAllGone(s, fp);
  assert.match(s.output(), /the process that ran it \(pid \d+\) is gone|its parent process \(pid \d+\) is gone/);
  assert.match(s.output(), /ttpush start: stopped/);
});
