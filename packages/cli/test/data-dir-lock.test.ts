/** The data-folder lock of `ttpush start`: held by a live ttpush, taken over from a dead one (or a reused pid). */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataDirLockedError, LOCK_FILE, acquireDataDirLock, lockedMessage } from '../src/data-dir-lock.ts';

const dirs: string[] = [];
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ttpush-lock-'));
  dirs.push(d);
  return d;
}
/** A live process whose command line does (or does not) name ttpush. */
async function live(named: boolean): Promise<number> {
  const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', ...(named ? ['ttpush.mjs', 'start'] : [])], {
    stdio: 'ignore',
  });
  children.push(c);
  await new Promise((r) => c.once('spawn', r));
  return c.pid!;
}
async function deadPid(): Promise<number> {
  const c = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((r) => c.once('exit', r));
  return c.pid!;
}
const readLock = (d: string) => JSON.parse(readFileSync(join(d, LOCK_FILE), 'utf8')) as Record<string, unknown>;

test('takes a free folder, says what it runs, and releases it', () => {
  const d = dir();
  const lock = acquireDataDirLock(d);
  assert.equal(lock.staleHolder, undefined);
  assert.equal(readLock(d).pid, process.pid);
  lock.update({ url: 'http://127.0.0.1:8400', redisUrl: 'redis://127.0.0.1:1234', redisPid: 42 });
  assert.deepEqual(
    [readLock(d).pid, readLock(d).url, readLock(d).redisUrl, readLock(d).redisPid],
    [process.pid, 'http://127.0.0.1:8400', 'redis://127.0.0.1:1234', 42],
  );
  lock.release();
  assert.equal(existsSync(join(d, LOCK_FILE)), false);
  lock.release();
});

test('a folder held by a live ttpush is refused, and the message names its pid and the two ways to a second instance', async () => {
  const d = dir();
  const pid = await live(true);
  const holder = {
    pid,
    started: '2026-12-03T09:00:00.000Z',
    url: 'http://127.0.0.1:8400',
    redisUrl: 'redis://127.0.0.1:40001',
    dbProxyAddrs: '127.0.0.1:10600',
    routeAddrs: '127.0.0.1:8200',
  };
  writeFileSync(join(d, LOCK_FILE), JSON.stringify(holder));
  let caught: unknown;
  assert.throws(
    () => acquireDataDirLock(d),
    (err) => (caught = err) instanceof DataDirLockedError,
  );
  const text = lockedMessage(caught as DataDirLockedError);
  assert.match(text, new RegExp(`data folder ${d} is in use by another ttpush start \\(pid ${pid}, `));
  assert.match(text, /api at http:\/\/127\.0\.0\.1:8400/);
  assert.match(text, /TTPUSH_DATA_DIR=\.ttpush-2 TTPUSH_HTTP_PORT=8401 TTPUSH_SANDBOX_PORTS=0,0,0 npm start/);
  assert.match(
    text,
    /TTPUSH_REDIS_URL=redis:\/\/127\.0\.0\.1:40001 TTPUSH_DB_PROXY_ADDRS=127\.0\.0\.1:10600 TTPUSH_ROUTE_ADDRS=127\.0\.0\.1:8200 TTPUSH_HTTP_PORT=8401 npm start/,
  );
  assert.match(text, new RegExp(`kill ${pid}$`));
  // The holder's lock is untouched.
  assert.equal(readLock(d).pid, pid);
});

test('a lock of a dead pid, of a pid now running something else, or unreadable, is taken over', async () => {
  for (const [name, content] of [
    ['dead', JSON.stringify({ pid: await deadPid(), started: 'x', redisPid: 7 })],
    ['reused pid', JSON.stringify({ pid: await live(false), started: 'x' })],
    ['unreadable', '{"pid": 12'],
  ] as const) {
    const d = dir();
    writeFileSync(join(d, LOCK_FILE), content);
    const lock = acquireDataDirLock(d);
    assert.equal(readLock(d).pid, process.pid, name);
    if (name === 'unreadable') assert.equal(lock.staleHolder, undefined);
    else assert.equal(lock.staleHolder?.pid, JSON.parse(content).pid, name);
    lock.release();
  }
});

test('release leaves a lock that is no longer ours', () => {
  const d = dir();
  const lock = acquireDataDirLock(d);
  writeFileSync(join(d, LOCK_FILE), JSON.stringify({ pid: 1, started: 'x' }));
  lock.release();
  assert.equal(readLock(d).pid, 1);
});
