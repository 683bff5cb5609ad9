// The console over real TCP and a real redis-server (startApi, no worker): login and its refusals, the
// session cookie and what it never holds, the CSRF guard on batch actions, the overview JSON, bull-board
// behind the admin key, and the console switched off without TTPUSH_ADMIN_KEY.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { loadConfig } from '@ttpush/config';
import { Keys, recentFailuresKey } from '@ttpush/contract';
import { ConsoleSessionStore, adminKeyFingerprint } from '@ttpush/store';
import { RedisServer } from '@ttpush/testkit';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../src/app.ts';
import { startApi, type RunningApi } from '../src/server.ts';
import { MemoryService } from './helpers/memory-service.ts';
import { createHash, randomBytes } from 'node:crypto';
import { consoleSessions, SESSION_COOKIE, SESSION_TTL_MS } from '../src/console/session.ts';

const ADMIN_KEY = 'admin-key-for-console-tests-0123';
const DEV_KEY = 'dev-key-for-console-tests-01';
const PREFIX = 'tcon';

let redisServer: RedisServer;
let redis: Redis;
let api: RunningApi;
/** An api without TTPUSH_ADMIN_KEY (startApi runs once per process: its default metrics are global). */
let off: Server;
let offUrl: string;
let url: string;
let logText = '';

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    TTPUSH_REDIS_URL: redisServer.url,
    TTPUSH_REDIS_PREFIX: PREFIX,
    TTPUSH_HTTP_HOST: '127.0.0.1',
    TTPUSH_HTTP_PORT: '0',
    TTPUSH_DEV_APP_KEY: DEV_KEY,
    ...extra,
  };
}

before(async () => {
  redisServer = await RedisServer.start();
  redis = new Redis(redisServer.url);
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logText += chunk.toString('utf8');
      cb();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  api = await startApi(loadConfig(env({ TTPUSH_ADMIN_KEY: ADMIN_KEY })), logger);
  off = createServer(
    createApp({
      config: loadConfig(env()),
      service: new MemoryService(),
      batches: api.batches,
      logger: pino({ level: 'silent' }),
      console: { overview: () => Promise.reject(new Error('not reached')), queues: [] },
    }),
  );
  await new Promise<void>((resolve) => off.listen(0, '127.0.0.1', resolve));
  offUrl = `http://127.0.0.1:${(off.address() as AddressInfo).port}`;
  url = `http://127.0.0.1:${api.port}`;
});

after(async () => {
  await api?.close();
  off?.closeAllConnections();
  await new Promise<void>((resolve) => (off ? off.close(() => resolve()) : resolve()));
  redis?.disconnect();
  await redisServer?.stop();
});

/** Headers a browser sends with a request made by the console page itself. */
function sameOrigin(): Record<string, string> {
  return { origin: url, 'sec-fetch-site': 'same-origin' };
}

async function login(key = ADMIN_KEY, headers = sameOrigin()): Promise<Response> {
  return fetch(`${url}/console/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ key }).toString(),
  });
}

async function sessionCookie(): Promise<string> {
  const r = await login();
  assert.equal(r.status, 303);
  const set = r.headers.get('set-cookie') ?? '';
  return set.split(';')[0]!;
}

async function newBatch(users: number[]): Promise<string> {
  const r = await fetch(`${url}/v1/batches`, {
    method: 'POST',
    headers: { authorization: `Bearer ${DEV_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ from: 1, content: 'hello', recipients: users.map((user) => ({ user })) }),
  });
  assert.equal(r.status, 202);
  return ((await r.json()) as { id: string }).id;
}

test('without a session /console shows the login form, with a strict CSP', async () => {
  const r = await fetch(`${url}/console`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(r.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  assert.equal(r.headers.get('x-frame-options'), 'DENY');
  const body = await r.text();
  assert.match(body, /<form method="post" action="\/console\/login">/);
  assert.doesNotMatch(body, /id="batches"/);
});

test('a wrong key shows the form again with an error and sets no cookie', async () => {
  const r = await login('not-the-admin-key-at-all');
  assert.equal(r.status, 401);
  assert.equal(r.headers.get('set-cookie'), null);
  assert.match(await r.text(), /That is not the admin key/);
});

test('a login posted from another origin is refused even with the right key', async () => {
  for (const headers of [{ origin: 'http://evil.example' }, { 'sec-fetch-site': 'cross-site' }, {}]) {
    const r = await login(ADMIN_KEY, headers as Record<string, string>);
    assert.equal(r.status, 403, JSON.stringify(headers));
    assert.equal(r.headers.get('set-cookie'), null);
  }
});

test('the right key sets an HttpOnly SameSite=Strict session cookie that is not the key, and opens the page', async () => {
  const r = await login();
  assert.equal(r.status, 303);
  assert.equal(r.headers.get('location'), '/console');
  const set = r.headers.get('set-cookie') ?? '';
  assert.match(set, new RegExp(`^${SESSION_COOKIE}=[^;]+;`));
  assert.match(set, /; HttpOnly/);
  assert.match(set, /; SameSite=Strict/);
  assert.match(set, /; Path=\//);
  assert.ok(!set.includes(ADMIN_KEY));
  const page = await fetch(`${url}/console`, { headers: { cookie: set.split(';')[0]! } });
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /id="batches"/);
  assert.match(html, /href="\/admin\/queues"/);
  assert.match(html, /<script src="\/console\/assets\/console\.js" defer><\/script>/);
  const js = await fetch(`${url}/console/assets/console.js`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type') ?? '', /javascript/);
  assert.equal((await fetch(`${url}/console/assets/..%2Fsession.ts`)).status, 404);
});

/** The Redis keys of this api's console sessions. */
async function sessionKeys(): Promise<string[]> {
  return redis.keys(`${PREFIX}:console:session:*`);
}

test('the overview needs the cookie or the Bearer admin key; app keys, forged, expired and old-key sessions are refused', async () => {
  const cookie = await sessionCookie();
  assert.equal((await fetch(`${url}/console/api/overview`, { headers: { cookie } })).status, 200);
  const bearer = await fetch(`${url}/console/api/overview`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  assert.equal(bearer.status, 200);
  const value = cookie.slice(SESSION_COOKIE.length + 1);
  const forged = `${value.slice(0, -2)}${value.endsWith('AA') ? 'BB' : 'AA'}`;
  // A session of this admin key whose Redis entry expired (as it does after 12 h): stored with 1 ms to live.
  const expired = await consoleSessions(new ConsoleSessionStore(redis, PREFIX), ADMIN_KEY).create();
  // This session's own key (the login above made another of the same admin key): its id's hash ends the key.
  const expiredHash = createHash('sha256').update(expired).digest('hex');
  const expiredKey = (await sessionKeys()).find(
    (k) => k.includes(adminKeyFingerprint(ADMIN_KEY)) && k.endsWith(`:${expiredHash}`),
  );
  assert.ok(expiredKey, 'the new session is stored under the hash of its id');
  await redis.pexpire(expiredKey, 1);
  for (const deadline = Date.now() + 5000; (await redis.exists(expiredKey)) === 1 && Date.now() < deadline;) {
    await new Promise((res) => setTimeout(res, 10));
  }
  // A live session made with another admin key (before the key changed).
  const oldKey = await consoleSessions(new ConsoleSessionStore(redis, PREFIX), 'a-previous-admin-key-000000').create();
  // The signed tokens of earlier versions (`<expiry ms>.<nonce>.<hmac>`) are no session id.
  const signedToken = `${Date.now() + 3_600_000}.${randomBytes(16).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
  const refused: [string, Record<string, string>][] = [
    ['nothing', {}],
    ['app key', { authorization: `Bearer ${DEV_KEY}` }],
    ['forged', { cookie: `${SESSION_COOKIE}=${forged}` }],
    ['random id', { cookie: `${SESSION_COOKIE}=${randomBytes(32).toString('base64url')}` }],
    ['expired', { cookie: `${SESSION_COOKIE}=${expired}` }],
    ['old key', { cookie: `${SESSION_COOKIE}=${oldKey}` }],
    ['signed token', { cookie: `${SESSION_COOKIE}=${signedToken}` }],
    ['the key as cookie', { cookie: `${SESSION_COOKIE}=${ADMIN_KEY}` }],
  ];
  for (const [name, headers] of refused) {
    const r = await fetch(`${url}/console/api/overview`, { headers });
    assert.equal(r.status, 401, name);
    assert.equal(((await r.json()) as any).error.code, 'unauthorized', name);
  }
});

test('the overview lists recent batches newest first with progress, failures by code, jobs and the rate series', async () => {
  const first = await newBatch([2, 3, 4]);
  const second = await newBatch([5, 6]);
  // What a worker's stats flush writes for two failed messages (apps/worker stats.ts).
  const keys = new Keys(PREFIX);
  await redis.hincrby(keys.stats, 'failed:teamtalk_rejected', 2);
  await redis.hincrby(keys.stats, 'sent', 7);
  for (const id of ['msg_a1', 'msg_a2']) {
    const e = { id, code: 'teamtalk_rejected', message: 'TeamTalk refused', at: Date.now() };
    await redis.lpush(recentFailuresKey(keys.stats), JSON.stringify(e));
  }
  const cookie = await sessionCookie();
  let o: any;
  const deadline = Date.now() + 15_000;
  for (;;) {
    const r = await fetch(`${url}/console/api/overview`, { headers: { cookie } });
    assert.equal(r.status, 200);
    o = await r.json();
    // The series needs two samples (2 s apart) for a first rate.
    if (o.series.length >= 1 || Date.now() > deadline) break;
    await new Promise((res) => setTimeout(res, 250));
  }
  assert.ok(o.series.length >= 1, 'a rate point within 15 s');
  assert.deepEqual(Object.keys(o.series[0]).sort(), ['batch_pending', 'depth', 'failed_per_s', 'sent_per_s', 't']);
  const ids = o.batches.map((b: any) => b.id);
  assert.ok(ids.indexOf(second) < ids.indexOf(first) && ids.indexOf(second) >= 0, JSON.stringify(ids));
  const b = o.batches.find((x: any) => x.id === first);
  assert.equal(b.status, 'queued');
  assert.equal(b.total, 3);
  assert.equal(b.progress_percent, 0);
  // Both batches wait for a worker: their 5 recipients are the backlog (other tests' batches may add to it).
  assert.ok(o.queue.batch_pending >= 5, JSON.stringify(o.queue));
  assert.equal(o.queue.jobs.waiting + o.queue.jobs.prioritized >= 2, true, JSON.stringify(o.queue));
  const g = o.failures.find((x: any) => x.code === 'teamtalk_rejected');
  assert.equal(g.count, 2);
  assert.deepEqual(
    g.examples.map((e: any) => e.id),
    ['msg_a2', 'msg_a1'],
  );
  assert.deepEqual(o.teamtalk, []);
  assert.equal(o.links.queues, '/admin/queues');
});

test('a batch action with the cookie needs the same origin; with the Bearer key it does not', async () => {
  const id = await newBatch([7, 8]);
  const cookie = await sessionCookie();
  const post = (action: string, headers: Record<string, string>, batch = id) =>
    fetch(`${url}/console/api/batches/${batch}/${action}`, { method: 'POST', headers });
  const crossOrigin: Record<string, string>[] = [
    {},
    { origin: 'http://evil.example' },
    { 'sec-fetch-site': 'cross-site', origin: url },
  ];
  for (const h of crossOrigin) {
    const r = await post('cancel', { cookie, ...h });
    assert.equal(r.status, 403, JSON.stringify(h));
    assert.equal(((await r.json()) as any).error.code, 'cross_origin_refused');
  }
  assert.equal((await post('cancel', sameOrigin())).status, 401, 'same origin is no credential');
  const paused = await post('pause', { authorization: `Bearer ${ADMIN_KEY}` });
  assert.equal(paused.status, 200);
  assert.equal(((await paused.json()) as any).status, 'paused');
  const resumed = await post('resume', { cookie, ...sameOrigin() });
  assert.equal(((await resumed.json()) as any).status, 'queued');
  const cancelled = await post('cancel', { cookie, ...sameOrigin() });
  assert.equal(cancelled.status, 200);
  assert.equal(((await cancelled.json()) as any).status, 'cancelled');
  const again = await post('pause', { cookie, ...sameOrigin() });
  assert.equal(again.status, 409);
  assert.equal(((await again.json()) as any).error.code, 'not_pausable');
  const missing = await post('cancel', { cookie, ...sameOrigin() }, 'bat_0000000000000000000000');
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as any).error.code, 'not_found');
  assert.equal((await fetch(`${url}/console/api/batches/${id}/cancel`, { headers: { cookie } })).status, 405);
});

test('logout clears the cookie', async () => {
  const r = await fetch(`${url}/console/logout`, { method: 'POST', redirect: 'manual', headers: sameOrigin() });
  assert.equal(r.status, 303);
  assert.match(r.headers.get('set-cookie') ?? '', new RegExp(`^${SESSION_COOKIE}=; Max-Age=0;.*HttpOnly`));
});

test('a session lives in Redis for 12 h under a hash of its id; the cookie holds only the random id', async () => {
  const before = new Set(await sessionKeys());
  const cookie = await sessionCookie();
  const id = cookie.slice(SESSION_COOKIE.length + 1);
  assert.match(id, /^[A-Za-z0-9_-]{43}$/);
  const added = (await sessionKeys()).filter((k) => !before.has(k));
  assert.equal(added.length, 1, JSON.stringify(added));
  const key = added[0]!;
  assert.ok(key.startsWith(`${PREFIX}:console:session:${adminKeyFingerprint(ADMIN_KEY)}:`), key);
  assert.ok(!key.includes(id) && !key.includes(ADMIN_KEY), key);
  assert.ok(!(await redis.get(key))!.includes(id));
  const ttl = await redis.pttl(key);
  assert.ok(ttl > SESSION_TTL_MS - 60_000 && ttl <= SESSION_TTL_MS, `ttl ${ttl}`);
});

test('after logout the old cookie opens neither /console/api nor /admin/queues, and /console shows the login', async () => {
  const cookie = await sessionCookie();
  assert.equal((await fetch(`${url}/console/api/overview`, { headers: { cookie } })).status, 200);
  assert.equal((await fetch(`${url}/admin/queues`, { headers: { cookie } })).status, 200);
  const out = await fetch(`${url}/console/logout`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie, ...sameOrigin() },
  });
  assert.equal(out.status, 303);
  assert.match(out.headers.get('set-cookie') ?? '', new RegExp(`^${SESSION_COOKIE}=; Max-Age=0;`));
  // A copy of the cookie kept by the browser (or anyone) after the logout:
  const api = await fetch(`${url}/console/api/overview`, { headers: { cookie } });
  assert.equal(api.status, 401);
  assert.equal(((await api.json()) as any).error.code, 'unauthorized');
  assert.equal((await fetch(`${url}/admin/queues`, { headers: { cookie } })).status, 401);
  const action = await fetch(`${url}/console/api/batches/bat_0000000000000000000000/cancel`, {
    method: 'POST',
    headers: { cookie, ...sameOrigin() },
  });
  assert.equal(action.status, 401);
  const page = await fetch(`${url}/console`, { headers: { cookie } });
  assert.match(await page.text(), /<form method="post" action="\/console\/login">/);
});

test('bull-board at /admin/queues: 401 without the admin key; its page, assets and API load with the session', async () => {
  const none = await fetch(`${url}/admin/queues`);
  assert.equal(none.status, 401);
  assert.equal(((await none.json()) as any).error.code, 'unauthorized');
  const cookie = await sessionCookie();
  const page = await fetch(`${url}/admin/queues`, { headers: { cookie } });
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /id="root"/);
  // The page names its assets relative to <base href="/admin/queues/">.
  assert.match(html, /<base href="\/admin\/queues\/"/);
  const assets = [...html.matchAll(/(?:src|href)="(static\/[^"]+)"/g)].map((m) => `/admin/queues/${m[1]!}`);
  assert.ok(assets.length > 0, html);
  for (const a of assets) {
    assert.equal((await fetch(`${url}${a}`, { headers: { cookie } })).status, 200, a);
    assert.equal((await fetch(`${url}${a}`)).status, 401, a);
  }
  const queues = await fetch(`${url}/admin/queues/api/queues`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  assert.equal(queues.status, 200);
  const names = ((await queues.json()) as any).queues.map((q: any) => q.name);
  assert.deepEqual(
    names.sort(),
    api.batches.queues.queues.map((_, p) => `p${p}-lanes`),
  );
  // A change through the board: refused from another origin with the cookie, and read-only even with the key.
  const pausePath = `${url}/admin/queues/api/queues/p0-lanes/pause`;
  const cross = await fetch(pausePath, { method: 'PUT', headers: { cookie, origin: 'http://evil.example' } });
  assert.equal(cross.status, 403);
  assert.equal(((await cross.json()) as any).error.code, 'cross_origin_refused');
  const keyed = await fetch(pausePath, { method: 'PUT', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  assert.ok(keyed.status >= 400 && keyed.status < 500, `read-only board answered ${keyed.status}`);
  assert.equal(await api.batches.queues.queues[0]!.isPaused(), false);
});

test('without TTPUSH_ADMIN_KEY the console says how to turn it on and every admin route answers 403', async () => {
  const base = offUrl;
  const page = await fetch(`${base}/console`);
  assert.equal(page.status, 403);
  assert.match(await page.text(), /set TTPUSH_ADMIN_KEY/);
  for (const path of ['/console/api/overview', '/admin/queues']) {
    const r = await fetch(`${base}${path}`, { headers: { authorization: 'Bearer anything-at-all-000000' } });
    assert.equal(r.status, 403, path);
    assert.equal(((await r.json()) as any).error.code, 'admin_disabled');
  }
});

test('neither the admin key nor a session token appears in the logs', async () => {
  const token = (await sessionCookie()).slice(SESSION_COOKIE.length + 1);
  await fetch(`${url}/console/api/overview`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  assert.ok(logText.length > 0);
  assert.ok(!logText.includes(ADMIN_KEY));
  assert.ok(!logText.includes(token));
});

test('with Redis down the overview answers 503 redis_unavailable and the page still loads; it recovers', async () => {
  const cookie = await sessionCookie();
  await redisServer.kill();
  try {
    const r = await fetch(`${url}/console/api/overview`, { headers: { cookie } });
    assert.equal(r.status, 503);
    assert.equal(((await r.json()) as any).error.code, 'redis_unavailable');
    assert.equal((await fetch(`${url}/console`, { headers: { cookie } })).status, 200);
    // The Bearer key needs no Redis to be checked.
    const keyed = await fetch(`${url}/console/api/overview`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    assert.equal(keyed.status, 503);
    // A logout that cannot delete the session says so and keeps the cookie, so that it can be tried again.
    const out = await fetch(`${url}/console/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, ...sameOrigin() },
    });
    assert.equal(out.status, 503);
    assert.equal(out.headers.get('set-cookie'), null);
    // Nor can a new session be stored.
    const login = await fetch(`${url}/console/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...sameOrigin() },
      body: new URLSearchParams({ key: ADMIN_KEY }).toString(),
    });
    assert.equal(login.status, 503);
    assert.equal(login.headers.get('set-cookie'), null);
  } finally {
    await redisServer.startProcess();
  }
  let status = 0;
  for (const deadline = Date.now() + 15_000; status !== 200 && Date.now() < deadline;) {
    status = (await fetch(`${url}/console/api/overview`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).status;
    if (status !== 200) await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(status, 200);
  // This Redis keeps nothing across a restart, sessions included: the old cookie is refused, a new login works.
  assert.equal((await fetch(`${url}/console/api/overview`, { headers: { cookie } })).status, 401);
  const fresh = await sessionCookie();
  assert.equal((await fetch(`${url}/console/api/overview`, { headers: { cookie: fresh } })).status, 200);
});

test("/console/api/messages lists every app's newest messages with their app, or one app's; admin only", async () => {
  const send = async (to: number) => {
    const r = await fetch(`${url}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DEV_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ from: 1, to: { user: to }, content: 'listed' }),
    });
    assert.equal(r.status, 202);
    return ((await r.json()) as { id: string }).id;
  };
  const a = await send(8801);
  const b = await send(8802);
  const get = (q: string, headers: Record<string, string> = { authorization: `Bearer ${ADMIN_KEY}` }) =>
    fetch(`${url}/console/api/messages${q}`, { headers });
  assert.equal((await get('', {})).status, 401);
  assert.equal((await get('', { authorization: `Bearer ${DEV_KEY}` })).status, 401);
  const all = (await (await get('?limit=500')).json()) as { messages: { id: string; app: string }[] };
  const ids = all.messages.map((m) => m.id);
  assert.ok(ids.indexOf(b) !== -1 && ids.indexOf(b) < ids.indexOf(a), 'newest first');
  assert.equal(all.messages.find((m) => m.id === a)!.app, 'dev');
  const cookie = await sessionCookie();
  const mine = (await (await get('?app=dev&to_user=8802', { cookie })).json()) as { messages: { id: string }[] };
  assert.deepEqual(
    mine.messages.map((m) => m.id),
    [b],
  );
  const none = (await (await get('?app=nobody')).json()) as { messages: unknown[] };
  assert.deepEqual(none.messages, []);
  const bad = await get('?status=lost');
  assert.equal(bad.status, 400);
  assert.equal(((await bad.json()) as { error: { field: string } }).error.field, 'status');
});
