/**
 * GET /v1/messages over real HTTP against a real redis-server (2 partitions): newest first, filters, cursor
 * paging, scoping (a key without read_all sees its own messages only; another app's never), bad parameters.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { RedisMessageService } from '../src/message-service.ts';
import { consumerRedis, producerRedis } from '@ttpush/store';
import type { MessageView } from '@ttpush/contract';
import { RedisServer } from '@ttpush/testkit';
import { createApp } from '../src/app.ts';
import { createApiMetrics } from '../src/metrics.ts';
import { TenantKeyring } from '../src/tenants/keyring.ts';
import { TenantStore } from '@ttpush/store';
import { KEYS, testConfig } from './helpers/test-app.ts';

const ADMIN_KEY = 'admin-key-for-list-tests-0123';
let redisServer: RedisServer;
let server: Server;
let url: string;
let service: RedisMessageService;
const conns: Redis[] = [];

before(async () => {
  redisServer = await RedisServer.start();
  const redis = producerRedis(redisServer.url);
  const queueConnection = producerRedis(redisServer.url);
  const subscriber = consumerRedis(redisServer.url);
  const notices = consumerRedis(redisServer.url);
  conns.push(redis, queueConnection, subscriber, notices);
  for (const c of conns) c.on('error', () => undefined);
  await Promise.all(conns.map((c) => (c.status === 'ready' ? undefined : new Promise((r) => c.once('ready', r)))));
  service = new RedisMessageService({ redis, subscriber, queueConnection, prefix: 'tls', partitions: 2 });
  const store = new TenantStore(redis, 'tls');
  const keyring = new TenantKeyring(store);
  const logger = pino({ level: 'silent' });
  await keyring.listen(notices, logger);
  const app = createApp({
    config: testConfig({ adminKey: ADMIN_KEY }),
    service,
    logger,
    metrics: createApiMetrics(new Registry()),
    tenants: { store, keyring },
  });
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await service.close();
  for (const c of conns) c.disconnect();
  await redisServer.stop();
});

async function call(method: string, path: string, key: string, body?: unknown) {
  const r = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

async function send(key: string, body: Record<string, unknown>): Promise<MessageView> {
  const r = await call('POST', '/v1/messages', key, body);
  assert.equal(r.status, 202, JSON.stringify(r.body));
  return r.body as MessageView;
}

type Page = { messages: MessageView[]; next_cursor: string | null };
async function list(key: string, query = ''): Promise<Page> {
  const r = await call('GET', `/v1/messages${query}`, key);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body as Page;
}

const newestFirst = (views: MessageView[]) =>
  [...views]
    .sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || (a.id < b.id ? 1 : -1))
    .map((v) => v.id);

describe('GET /v1/messages', () => {
  const crmSent: MessageView[] = [];
  let own: string;
  let reader: string;
  let ownSent: MessageView[];

  before(async () => {
    for (let i = 0; i < 12; i++) {
      crmSent.push(await send(KEYS.crm, { from: 1001 + (i % 2), to: { user: 3000 + i }, content: `m${i}` }));
    }
    crmSent.push(await send(KEYS.crm, { from: 1001, to: { group: 77 }, content: 'to the group' }));
    // A tenant app with a key of its own scope and a reader key (read_all).
    assert.equal((await call('POST', '/v1/admin/apps', ADMIN_KEY, { name: 'shop' })).status, 201);
    const k1 = await call('POST', '/v1/admin/apps/shop/keys', ADMIN_KEY, { senders: [5001] });
    const k2 = await call('POST', '/v1/admin/apps/shop/keys', ADMIN_KEY, { senders: [5002], read_all: true });
    own = k1.body.secret as string;
    reader = k2.body.secret as string;
    ownSent = [
      await send(own, { from: 5001, to: { user: 6001 }, content: 'own 1' }),
      await send(own, { from: 5001, to: { user: 6002 }, content: 'own 2' }),
    ];
    ownSent.push(await send(reader, { from: 5002, to: { user: 6003 }, content: 'reader' }));
  });

  it("lists the app's messages newest first, and nothing of another app", async () => {
    const page = await list(KEYS.crm);
    assert.deepEqual(
      page.messages.map((m) => m.id),
      newestFirst(crmSent),
    );
    assert.equal(page.next_cursor, null);
    assert.equal(page.messages[0]!.status, 'queued');
    assert.deepEqual(
      (await list(KEYS.ops)).messages.map((m) => m.id),
      [],
    );
  });

  it('pages with the cursor through every message exactly once', async () => {
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Page = await list(KEYS.crm, `?limit=5${cursor ? `&cursor=${cursor}` : ''}`);
      assert.ok(page.messages.length <= 5);
      ids.push(...page.messages.map((m) => m.id));
      cursor = page.next_cursor;
      pages++;
    } while (cursor !== null && pages < 10);
    assert.deepEqual(ids, newestFirst(crmSent));
    assert.equal(pages, 3);
  });

  it('filters by status, from, to_user, to_group, since and until', async () => {
    const cancelled = crmSent[3]!;
    assert.equal((await call('DELETE', `/v1/messages/${cancelled.id}`, KEYS.crm)).status, 200);
    const ids = async (q: string) => (await list(KEYS.crm, q)).messages.map((m) => m.id);
    assert.deepEqual(await ids('?status=cancelled'), [cancelled.id]);
    assert.equal((await ids('?status=queued,cancelled')).length, crmSent.length);
    assert.deepEqual(await ids('?status=sent'), []);
    assert.deepEqual(await ids('?from=1002'), newestFirst(crmSent.filter((m) => m.from === 1002)));
    assert.deepEqual(await ids('?to_user=3004'), [crmSent[4]!.id]);
    assert.deepEqual(await ids('?to_group=77'), [crmSent[12]!.id]);
    const future = new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    assert.deepEqual(await ids(`?since=${future}`), []);
    assert.equal((await ids(`?until=${future}`)).length, crmSent.length);
    assert.deepEqual(await ids('?until=2020-01-01T00:00:00%2B08:00'), []);
  });

  it('shows a key without read_all only its own messages, and a read_all key the whole app', async () => {
    assert.deepEqual(
      (await list(own)).messages.map((m) => m.id),
      newestFirst(ownSent.slice(0, 2)),
    );
    assert.deepEqual(
      (await list(reader)).messages.map((m) => m.id),
      newestFirst(ownSent),
    );
    // Their GET of one message agrees.
    assert.equal((await call('GET', `/v1/messages/${ownSent[2]!.id}`, own)).status, 404);
    assert.equal((await call('GET', `/v1/messages/${ownSent[0]!.id}`, reader)).status, 200);
  });

  it('refuses bad parameters with 400 naming the parameter', async () => {
    const cases: [string, string, string][] = [
      ['?status=done', 'invalid_field', 'status'],
      ['?status=sent,', 'invalid_field', 'status'],
      ['?from=0', 'invalid_field', 'from'],
      ['?from=abc', 'invalid_field', 'from'],
      ['?to_user=4294967296', 'invalid_field', 'to_user'],
      ['?to_user=1&to_group=2', 'invalid_field', 'to_group'],
      ['?since=yesterday', 'invalid_field', 'since'],
      ['?until=2025-01-31', 'invalid_field', 'until'],
      ['?since=2025-02-01T00:00:00Z&until=2025-01-31T00:00:00Z', 'invalid_field', 'until'],
      ['?limit=0', 'invalid_field', 'limit'],
      ['?limit=501', 'invalid_field', 'limit'],
      ['?limit=ten', 'invalid_field', 'limit'],
      ['?cursor=nope', 'invalid_field', 'cursor'],
      ['?status=sent&status=failed', 'invalid_field', 'status'],
      ['?to=5', 'unknown_field', 'to'],
    ];
    for (const [query, code, field] of cases) {
      const r = await call('GET', `/v1/messages${query}`, KEYS.crm);
      assert.equal(r.status, 400, query);
      assert.equal(r.body.error.code, code, query);
      assert.equal(r.body.error.field, field, query);
      assert.match(r.body.error.message, new RegExp(field), query);
    }
    assert.equal((await call('GET', '/v1/messages?limit=500', KEYS.crm)).status, 200);
  });

  it('needs a key', async () => {
    const r = await fetch(`${url}/v1/messages`);
    assert.equal(r.status, 401);
  });
});
