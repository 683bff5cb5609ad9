// Per-app default priorities (app keys file `priority`) for messages, batches and the legacy API, and the
// `deadline` of POST /v1/messages: its checks, and where it shows. Messages over the in-memory service,
// batches over a real redis-server (no worker).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { RedisBatchService } from '../src/batch-service.ts';
import { producerRedis } from '@ttpush/store';
import { RedisServer } from '@ttpush/testkit';
import { createApp } from '../src/app.ts';
import { createApiMetrics } from '../src/metrics.ts';
import { MemoryService } from './helpers/memory-service.ts';
import { KEYS, testConfig } from './helpers/test-app.ts';

const ALERTS_KEY = 'alerts-secret-key-000000004';
const BULK_KEY = 'bulk-secret-key-00000000005';

let redisServer: RedisServer;
let server: Server;
let url: string;
let batches: RedisBatchService;
const service = new MemoryService();
const conns: Redis[] = [];

before(async () => {
  redisServer = await RedisServer.start();
  const redis = producerRedis(redisServer.url);
  const queueConnection = producerRedis(redisServer.url);
  conns.push(redis, queueConnection);
  for (const c of conns) c.on('error', () => undefined);
  await Promise.all(conns.map((c) => (c.status === 'ready' ? undefined : new Promise((r) => c.once('ready', r)))));
  batches = new RedisBatchService({ redis, queueConnection, prefix: 'tprio' });
  const base = testConfig();
  const app = createApp({
    config: {
      ...base,
      appKeys: [
        ...base.appKeys,
        { name: 'alerts', key: ALERTS_KEY, senders: '*', priority: 'high' },
        { name: 'bulk', key: BULK_KEY, senders: '*', priority: 'low' },
      ],
    },
    service,
    batches,
    logger: pino({ level: 'silent' }),
    metrics: createApiMetrics(new Registry()),
  });
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await batches?.close();
  for (const c of conns) c.disconnect();
  await redisServer?.stop();
});

async function post(path: string, key: string, body: unknown): Promise<{ status: number; body: any }> {
  const r = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

const message = { from: 1, to: { user: 2 }, content: 'hi' };
const iso = (ms: number) => new Date(ms).toISOString();

test("a message without priority takes its app key's default; one that names it keeps its own", async () => {
  for (const [key, expected] of [
    [ALERTS_KEY, 'high'],
    [BULK_KEY, 'low'],
    [KEYS.ops, 'normal'],
    [KEYS.dev, 'normal'],
  ] as const) {
    const r = await post('/v1/messages', key, message);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal(r.body.priority, expected);
    assert.equal(service.submitted.at(-1)!.priority, expected);
  }
  const own = await post('/v1/messages', BULK_KEY, { ...message, priority: 'high' });
  assert.equal(own.body.priority, 'high');
  const alertLow = await post('/v1/messages', ALERTS_KEY, { ...message, priority: 'low' });
  assert.equal(alertLow.body.priority, 'low');
});

test("a refused priority names the app key's default in the fix", async () => {
  const r = await post('/v1/messages', BULK_KEY, { ...message, priority: 'urgent' });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'invalid_field');
  assert.equal(r.body.error.field, 'priority');
  assert.match(r.body.error.message, /default, "low"/);
});

test("a batch without priority takes its app key's default (JSON and NDJSON)", async () => {
  const json = await post('/v1/batches', BULK_KEY, { from: 1, content: 'x', recipients: [{ user: 2 }] });
  assert.equal(json.status, 202, JSON.stringify(json.body));
  assert.equal((await batches.get(json.body.id))!.priority, 'low');
  const r = await fetch(`${url}/v1/batches`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ALERTS_KEY}`, 'content-type': 'application/x-ndjson' },
    body: `${JSON.stringify({ from: 1, content: 'x' })}\n${JSON.stringify({ user: 3 })}\n`,
  });
  const ndjson = (await r.json()) as { id: string };
  assert.equal(r.status, 202, JSON.stringify(ndjson));
  assert.equal((await batches.get(ndjson.id))!.priority, 'high');
  const own = await post('/v1/batches', ALERTS_KEY, {
    from: 1,
    content: 'x',
    priority: 'low',
    recipients: [{ user: 4 }],
  });
  assert.equal((await batches.get(own.body.id))!.priority, 'low');
});

test('the legacy API keeps high priority whatever the key says', async () => {
  const r = await fetch(`${url}/query/SendSingleMessage`, {
    method: 'POST',
    body: JSON.stringify({ app_key: BULK_KEY, req_user_id: 1, from_user_id: 1, session_id: 2, msg: 'legacy' }),
    signal: AbortSignal.timeout(10_000),
  });
  await r.text();
  const req = service.submitted.at(-1)!;
  assert.equal(req.text, 'legacy');
  assert.equal(req.priority, 'high');
});

test('a deadline is passed on with the message and shown in its view', async () => {
  const deadline = Date.now() + 60_000;
  const r = await post('/v1/messages', KEYS.ops, { ...message, deadline: iso(deadline) });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.equal(r.body.deadline, iso(deadline));
  assert.equal(service.submitted.at(-1)!.deadline, deadline);
  const sendAt = Date.now() + 30_000;
  const both = await post('/v1/messages', KEYS.ops, { ...message, send_at: iso(sendAt), deadline: iso(deadline) });
  assert.equal(both.status, 202, JSON.stringify(both.body));
  assert.equal(both.body.status, 'scheduled');
  const plain = await post('/v1/messages', KEYS.ops, message);
  assert.equal(plain.body.deadline, null);
  assert.equal(service.submitted.at(-1)!.deadline, undefined);
});

test('a deadline that is no time, already past, or not after send_at is refused naming the field and the fix', async () => {
  const now = Date.now();
  const cases: [unknown, RegExp][] = [
    ['tomorrow', /not an RFC 3339 time: write it like/],
    [12345, /not an RFC 3339 time/],
    ['2030-01-01T09:00:00', /not an RFC 3339 time/],
    [iso(now - 1000), /is not after now: .*give a later deadline or leave it out/],
  ];
  for (const [deadline, pattern] of cases) {
    const r = await post('/v1/messages', KEYS.ops, { ...message, deadline });
    assert.equal(r.status, 400, JSON.stringify(deadline));
    assert.equal(r.body.error.code, 'invalid_field');
    assert.equal(r.body.error.field, 'deadline');
    assert.match(r.body.error.message, pattern);
  }
  const late = await post('/v1/messages', KEYS.ops, {
    ...message,
    send_at: iso(now + 60_000),
    deadline: iso(now + 30_000),
  });
  assert.equal(late.status, 400);
  assert.equal(late.body.error.field, 'deadline');
  assert.match(late.body.error.message, /is not after send_at/);
});
