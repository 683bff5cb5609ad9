// /v1/webhooks over a real redis-server: bad input answers 4xx naming the field, apps see only their own
// endpoints and deliveries, and secrets appear once in a response and never in a log line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { RedisServer } from '@ttpush/testkit';
import { WebhookStore } from '@ttpush/store';
import { createApp } from '../src/app.ts';
import { createApiMetrics } from '../src/metrics.ts';
import { MemoryService } from './helpers/memory-service.ts';
import { KEYS, testConfig } from './helpers/test-app.ts';

let redis: RedisServer;
let conn: Redis;
let server: Server;
let url: string;
const logs: string[] = [];

before(async () => {
  redis = await RedisServer.start();
  conn = new Redis(redis.url);
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString('utf8'));
      cb();
    },
  });
  const base = testConfig();
  const app = createApp({
    config: { ...base, webhooks: { ...base.webhooks, allowedNetworks: ['127.0.0.1/32'] } },
    service: new MemoryService(),
    webhooks: new WebhookStore(conn, 'wt'),
    logger: pino({ level: 'debug' }, sink),
    metrics: createApiMetrics(new Registry()),
  });
  server = createServer(app);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server?.closeAllConnections();
  await new Promise((ok) => server?.close(ok));
  conn?.disconnect();
  await redis?.stop();
});

async function call(
  method: string,
  path: string,
  body?: unknown,
  key: string = KEYS.crm,
): Promise<{ status: number; body: any }> {
  const r = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

const HOOK = 'http://127.0.0.1:9/hook';

test('bad endpoint bodies answer 400 with a stable code naming the field', async () => {
  const cases: [unknown, string, string | null][] = [
    [[], 'invalid_json', null],
    ['"text"', 'invalid_json', null],
    [{ events: ['message.sent'] }, 'missing_field', 'url'],
    [{ url: HOOK }, 'missing_field', 'events'],
    [{ url: HOOK, events: [] }, 'invalid_field', 'events'],
    [{ url: HOOK, events: ['message.sent', 'message.read'] }, 'invalid_field', 'events.1'],
    [{ url: 42, events: ['message.sent'] }, 'invalid_field', 'url'],
    [{ url: HOOK, events: ['message.sent'], secret: 'mine' }, 'unknown_field', 'secret'],
    [{ url: HOOK, events: ['message.sent'], description: 'x'.repeat(501) }, 'invalid_field', 'description'],
    [{ url: 'not a url', events: ['message.sent'] }, 'webhook_url_refused', 'url'],
    [{ url: 'http://192.168.0.1/', events: ['message.sent'] }, 'webhook_url_refused', 'url'],
  ];
  for (const [body, code, field] of cases) {
    const r = await call('POST', '/v1/webhooks/endpoints', body);
    assert.equal(r.status, 400, JSON.stringify([body, r.body]));
    assert.equal(r.body.error.code, code, JSON.stringify(body));
    assert.equal(r.body.error.field, field, JSON.stringify(body));
    if (field) assert.ok(r.body.error.message.includes(field), r.body.error.message);
  }
  const bad = await call('POST', '/v1/webhooks/endpoints', '{"url":');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'invalid_json');
  const q = await call('GET', '/v1/webhooks/deliveries?status=lost');
  assert.equal(q.status, 400);
  assert.equal(q.body.error.field, 'status');
  const lim = await call('GET', '/v1/webhooks/deliveries?limit=0');
  assert.equal(lim.body.error.field, 'limit');
  const unknownQ = await call('GET', '/v1/webhooks/deliveries?page=2');
  assert.equal(unknownQ.body.error.code, 'unknown_field');
  const grace = await call('POST', '/v1/webhooks/callback-secret/rotate', { grace_seconds: -1 });
  assert.equal(grace.body.error.field, 'grace_seconds');
  assert.equal((await call('PUT', '/v1/webhooks/endpoints')).status, 405);
  assert.equal((await call('GET', '/v1/webhooks/endpoints', undefined, 'wrong-key-000000000')).status, 401);
});

test('an app sees and changes only its own endpoints and deliveries', async () => {
  const mine = await call('POST', '/v1/webhooks/endpoints', { url: HOOK, events: ['message.sent'] });
  assert.equal(mine.status, 201);
  const id = mine.body.id;
  for (const [method, path, body] of [
    ['GET', `/v1/webhooks/endpoints/${id}`, undefined],
    ['PATCH', `/v1/webhooks/endpoints/${id}`, { enabled: false }],
    ['DELETE', `/v1/webhooks/endpoints/${id}`, undefined],
    ['POST', `/v1/webhooks/endpoints/${id}/rotate-secret`, {}],
    ['POST', `/v1/webhooks/endpoints/${id}/redeliver-failed`, undefined],
    ['GET', `/v1/webhooks/deliveries?endpoint=${id}`, undefined],
  ] as const) {
    const r = await call(method, path, body, KEYS.ops);
    assert.equal(r.status, 404, `${method} ${path}`);
    assert.equal(r.body.error.code, 'not_found');
  }
  assert.deepEqual((await call('GET', '/v1/webhooks/endpoints', undefined, KEYS.ops)).body, { endpoints: [] });
  assert.equal((await call('GET', `/v1/webhooks/endpoints/${id}`)).body.enabled, true);
  assert.equal((await call('GET', '/v1/webhooks/deliveries/whd_nothing0000')).status, 404);
  assert.equal((await call('DELETE', `/v1/webhooks/endpoints/${id}`)).status, 204);
});

test('secrets are shown at creation and rotation only, and never logged', async () => {
  const created = await call('POST', '/v1/webhooks/endpoints', { url: HOOK, events: ['batch.completed'] });
  const rotated = await call('POST', `/v1/webhooks/endpoints/${created.body.id}/rotate-secret`);
  assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
  const cb = await call('GET', '/v1/webhooks/callback-secret');
  assert.equal(cb.status, 201);
  const again = await call('GET', '/v1/webhooks/callback-secret');
  assert.equal(again.status, 200);
  assert.equal(again.body.secret, undefined);
  const reads = JSON.stringify([
    (await call('GET', '/v1/webhooks/endpoints')).body,
    (await call('GET', `/v1/webhooks/endpoints/${created.body.id}`)).body,
  ]);
  for (const secret of [created.body.secret, rotated.body.secret, cb.body.secret]) {
    assert.match(secret, /^whsec_/);
    assert.ok(!reads.includes(secret));
    assert.ok(!logs.join('').includes(secret));
  }
  assert.ok(logs.length > 0, 'the app logged its requests');
});

test('callback_url on a message: checked for form, SSRF and a callback secret before anything is queued', async () => {
  const send = (callback_url: unknown, key: string = KEYS.ops) =>
    call('POST', '/v1/messages', { from: 1, to: { user: 2 }, content: 'x', callback_url }, key);
  for (const bad of [42, 'ftp://example.com/', 'not a url', `https://example.com/${'x'.repeat(2100)}`]) {
    const r = await send(bad);
    assert.equal(r.status, 400, JSON.stringify(bad));
    assert.equal(r.body.error.code, 'invalid_field');
    assert.equal(r.body.error.field, 'callback_url');
  }
  const refused = await send('http://10.0.0.1/cb');
  assert.equal(refused.body.error.code, 'webhook_url_refused');
  const missing = await send(HOOK);
  assert.equal(missing.status, 409);
  assert.equal(missing.body.error.code, 'callback_secret_missing');
  assert.match(missing.body.error.message, /GET \/v1\/webhooks\/callback-secret/);
  assert.equal((await call('GET', '/v1/webhooks/callback-secret', undefined, KEYS.ops)).status, 201);
  const ok = await send(HOOK);
  assert.equal(ok.status, 202, JSON.stringify(ok.body));
});
