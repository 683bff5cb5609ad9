// Isolation on real processes (api and worker as child processes, a real redis-server, the sandbox TeamTalk):
// - webhooks are app-wide: a tenant key without manage_webhooks is refused on them, while its callback_url still gets
//   its events, signed with the app's callback secret (checked with the independent `standardwebhooks` package);
// - console sessions live in Redis: a logout ends the session on every api process, and an api restarted with
//   another TTPUSH_ADMIN_KEY refuses every earlier cookie;
// - /metrics takes TTPUSH_METRICS_TOKEN, and with TTPUSH_METRICS_PORT moves off the API port.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { freePort } from '@ttpush/testkit';
import { Harness, sleep } from './helpers/harness.ts';

const ADMIN_KEY = 'admin-key-for-the-isolation-e2e-01';
const NEW_ADMIN_KEY = 'admin-key-for-the-isolation-e2e-02';
const METRICS_TOKEN = 'metrics-token-for-the-isolation-e2e';

let h: Harness;
let receiver: Server;
const received: { headers: Record<string, string>; body: string }[] = [];

before(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((ok) => receiver.listen(0, '127.0.0.1', ok));
  h = await Harness.start({
    env: {
      TTPUSH_ADMIN_KEY: ADMIN_KEY,
      TTPUSH_METRICS_TOKEN: METRICS_TOKEN,
      TTPUSH_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32',
    },
  });
});

after(async () => {
  await h?.stop();
  receiver?.closeAllConnections();
  await new Promise<void>((ok) => (receiver ? receiver.close(() => ok()) : ok()));
});

async function call(base: string, method: string, path: string, key: string, body?: unknown) {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null, text };
}

async function login(base: string, key: string): Promise<string> {
  const r = await fetch(`${base}/console/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base, 'sec-fetch-site': 'same-origin' },
    body: new URLSearchParams({ key }).toString(),
  });
  assert.equal(r.status, 303);
  return (r.headers.get('set-cookie') ?? '').split(';')[0]!;
}

/** The statuses of the console's API and of bull-board for `cookie` on `base`. */
async function opens(base: string, cookie: string): Promise<[number, number]> {
  const api = await fetch(`${base}/console/api/overview`, { headers: { cookie } });
  const board = await fetch(`${base}/admin/queues`, { headers: { cookie } });
  await api.body?.cancel();
  await board.body?.cancel();
  return [api.status, board.status];
}

test('a key without manage_webhooks cannot manage or read webhooks, but its callback_url gets signed events', async () => {
  const admin = (method: string, path: string, body?: unknown) => call(h.url, method, path, ADMIN_KEY, body);
  assert.equal((await admin('POST', '/v1/admin/apps', { name: 'iso' })).status, 201);
  const plain = (await admin('POST', '/v1/admin/apps/iso/keys', { senders: '*' })).body.secret as string;
  const hooks = (await admin('POST', '/v1/admin/apps/iso/keys', { senders: [], manage_webhooks: true })).body
    .secret as string;

  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/cb`;
  for (const [method, path, body] of [
    ['POST', '/v1/webhooks/endpoints', { url: hookUrl, events: ['message.sent'] }],
    ['GET', '/v1/webhooks/endpoints', undefined],
    ['GET', '/v1/webhooks/deliveries', undefined],
    ['GET', '/v1/webhooks/callback-secret', undefined],
    ['POST', '/v1/webhooks/callback-secret/rotate', {}],
  ] as const) {
    const r = await call(h.url, method, path, plain, body);
    assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
    assert.equal(r.body.error.code, 'forbidden_scope');
    assert.match(r.body.error.message, /manage_webhooks/);
  }
  const cs = await call(h.url, 'GET', '/v1/webhooks/callback-secret', hooks);
  assert.equal(cs.status, 201, cs.text);
  const secret: string = cs.body.secret;

  const sent = await call(h.url, 'POST', '/v1/messages?wait=10', plain, {
    from: 31,
    to: { user: 32 },
    content: 'isolated',
    callback_url: hookUrl,
  });
  assert.equal(sent.status, 200, sent.text);
  assert.equal(sent.body.status, 'sent');
  let got: (typeof received)[number] | undefined;
  for (const deadline = Date.now() + 20_000; got === undefined && Date.now() < deadline;) {
    got = received.find((r) => (JSON.parse(r.body) as { data: { id: string } }).data.id === sent.body.id);
    if (got === undefined) await sleep(50);
  }
  assert.ok(got, 'the callback arrived');
  const event = new Webhook(secret).verify(got.body, got.headers) as { type: string; data: { msg_id: number } };
  assert.equal(event.type, 'message.sent');
  assert.equal(event.data.msg_id, sent.body.msg_id);
  // No endpoint was created by the refused key: the hooks key sees none.
  assert.deepEqual((await call(h.url, 'GET', '/v1/webhooks/endpoints', hooks)).body.endpoints, []);
});

test('logout ends the session on every api process; the other sessions live on', async () => {
  const other = await h.startExtraApi();
  const first = await login(h.url, ADMIN_KEY);
  const second = await login(h.url, ADMIN_KEY);
  assert.deepEqual(await opens(h.url, first), [200, 200]);
  assert.deepEqual(await opens(other, first), [200, 200], 'a session is known to every api process');
  const out = await fetch(`${h.url}/console/logout`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: first, origin: h.url, 'sec-fetch-site': 'same-origin' },
  });
  assert.equal(out.status, 303);
  assert.deepEqual(await opens(h.url, first), [401, 401]);
  assert.deepEqual(await opens(other, first), [401, 401]);
  assert.deepEqual(await opens(h.url, second), [200, 200]);
});

test('an api restarted with another TTPUSH_ADMIN_KEY refuses every earlier session; /metrics moves to its own port', async () => {
  const cookie = await login(h.url, ADMIN_KEY);
  assert.deepEqual(await opens(h.url, cookie), [200, 200]);
  // /metrics on the API port: only with the token.
  assert.equal((await fetch(`${h.url}/metrics`)).status, 401);
  assert.equal((await call(h.url, 'GET', '/metrics', 'not-the-metrics-token-000000')).status, 401);
  const scraped = await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  assert.equal(scraped.status, 200);
  assert.match(await scraped.text(), /^ttpush_workers_alive /m);

  const metricsPort = await freePort();
  await h.stopApi();
  await h.startApi({ TTPUSH_ADMIN_KEY: NEW_ADMIN_KEY, TTPUSH_METRICS_PORT: String(metricsPort) });
  assert.deepEqual(await opens(h.url, cookie), [401, 401], 'a session of the old admin key');
  const page = await fetch(`${h.url}/console`, { headers: { cookie } });
  assert.match(await page.text(), /action="\/console\/login"/);
  const fresh = await login(h.url, NEW_ADMIN_KEY);
  assert.deepEqual(await opens(h.url, fresh), [200, 200]);

  const onApiPort = await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  assert.equal(onApiPort.status, 404);
  const side = `http://127.0.0.1:${metricsPort}`;
  assert.equal((await fetch(`${side}/metrics`)).status, 401);
  const own = await fetch(`${side}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  assert.equal(own.status, 200);
  assert.match(await own.text(), /^ttpush_workers_alive /m);
  assert.equal((await fetch(`${side}/v1/messages`)).status, 404);
});
