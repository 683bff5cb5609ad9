// Webhooks are app-wide (an endpoint receives every key's messages; the callback secret signs every key's callbacks):
// over a real redis-server, a tenant key without manage_webhooks (or read_all) is refused 403 forbidden_scope on every
// /v1/webhooks route and changes nothing; with it, or with read_all, it may; configuration keys may; and a
// callback_url on a send works for every key.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { WebhookStore, consumerRedis, producerRedis } from '@ttpush/store';
import { RedisServer } from '@ttpush/testkit';
import { createApp } from '../src/app.ts';
import { createApiMetrics } from '../src/metrics.ts';
import { TenantKeyring } from '../src/tenants/keyring.ts';
import { TenantStore } from '@ttpush/store';
import { MemoryService } from './helpers/memory-service.ts';
import { KEYS, testConfig } from './helpers/test-app.ts';

const ADMIN_KEY = 'admin-key-for-webhook-scope-0123';
const PREFIX = 'tws';

let redisServer: RedisServer;
let server: Server;
let url: string;
const conns: Redis[] = [];

before(async () => {
  redisServer = await RedisServer.start();
  const redis = producerRedis(redisServer.url);
  const notices = consumerRedis(redisServer.url);
  conns.push(redis, notices);
  for (const c of conns) c.on('error', () => undefined);
  await Promise.all(conns.map((c) => (c.status === 'ready' ? undefined : new Promise((r) => c.once('ready', r)))));
  const store = new TenantStore(redis, PREFIX);
  const keyring = new TenantKeyring(store);
  const logger = pino({ level: 'silent' });
  await keyring.listen(notices, logger);
  const base = testConfig({ adminKey: ADMIN_KEY });
  const app = createApp({
    config: { ...base, webhooks: { ...base.webhooks, allowedNetworks: ['127.0.0.1/32'] } },
    service: new MemoryService(),
    webhooks: new WebhookStore(redis, PREFIX),
    logger,
    metrics: createApiMetrics(new Registry()),
    tenants: { store, keyring },
  });
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  for (const c of conns) c.disconnect();
  await redisServer?.stop();
});

async function call(method: string, path: string, key: string, body?: unknown) {
  const r = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null, text };
}

async function newKey(app: string, scopes: Record<string, unknown>): Promise<string> {
  const r = await call('POST', `/v1/admin/apps/${app}/keys`, ADMIN_KEY, { senders: '*', ...scopes });
  assert.equal(r.status, 201, r.text);
  return r.body.secret;
}

describe('the manage_webhooks scope', () => {
  let plain: string;
  let hooks: string;
  let reader: string;
  let endpoint: string;
  let delivery = 'whd_0000000000000000';

  before(async () => {
    assert.equal((await call('POST', '/v1/admin/apps', ADMIN_KEY, { name: 'shop' })).status, 201);
    plain = await newKey('shop', { batches: true, manage_groups: true });
    hooks = await newKey('shop', { manage_webhooks: true });
    reader = await newKey('shop', { read_all: true });
    const created = await call('POST', '/v1/webhooks/endpoints', hooks, {
      url: 'http://127.0.0.1:9/hook',
      events: ['message.sent'],
    });
    assert.equal(created.status, 201, created.text);
    endpoint = created.body.id;
    assert.equal((await call('GET', '/v1/webhooks/callback-secret', hooks)).status, 201);
    const page = await call('GET', '/v1/webhooks/deliveries', hooks);
    assert.equal(page.status, 200);
    delivery = page.body.deliveries[0]?.id ?? delivery;
  });

  /** Every /v1/webhooks route, as [method, path, body]. */
  const routes = (): [string, string, unknown][] => [
    ['POST', '/v1/webhooks/endpoints', { url: 'http://127.0.0.1:9/other', events: ['message.sent'] }],
    ['GET', '/v1/webhooks/endpoints', undefined],
    ['GET', `/v1/webhooks/endpoints/${endpoint}`, undefined],
    ['PATCH', `/v1/webhooks/endpoints/${endpoint}`, { url: 'http://127.0.0.1:9/stolen' }],
    ['DELETE', `/v1/webhooks/endpoints/${endpoint}`, undefined],
    ['POST', `/v1/webhooks/endpoints/${endpoint}/rotate-secret`, {}],
    ['POST', `/v1/webhooks/endpoints/${endpoint}/redeliver-failed`, undefined],
    ['GET', '/v1/webhooks/deliveries', undefined],
    ['GET', `/v1/webhooks/deliveries/${delivery}`, undefined],
    ['POST', `/v1/webhooks/deliveries/${delivery}/redeliver`, undefined],
    ['GET', '/v1/webhooks/callback-secret', undefined],
    ['POST', '/v1/webhooks/callback-secret/rotate', {}],
  ];

  it('refuses a key without it on every webhook route: 403 forbidden_scope naming the scope, nothing changed', async () => {
    const before = await call('GET', `/v1/webhooks/endpoints/${endpoint}`, hooks);
    const secretBefore = await call('GET', '/v1/webhooks/callback-secret', hooks);
    for (const [method, path, body] of routes()) {
      const r = await call(method, path, plain, body);
      assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
      assert.equal(r.body.error.code, 'forbidden_scope', `${method} ${path}`);
      assert.match(r.body.error.message, /'manage_webhooks' scope/);
      assert.match(r.body.error.message, /--manage-webhooks/);
      assert.ok(!r.text.includes('whsec_'), `${method} ${path} shows a secret`);
    }
    const afterView = await call('GET', `/v1/webhooks/endpoints/${endpoint}`, hooks);
    assert.deepEqual(afterView.body, before.body);
    const list = await call('GET', '/v1/webhooks/endpoints', hooks);
    assert.equal(list.body.endpoints.length, 1);
    assert.deepEqual((await call('GET', '/v1/webhooks/callback-secret', hooks)).body, secretBefore.body);
  });

  it('lets a key with manage_webhooks, or with read_all, and a configuration key manage them', async () => {
    for (const key of [hooks, reader]) {
      const list = await call('GET', '/v1/webhooks/endpoints', key);
      assert.equal(list.status, 200);
      assert.deepEqual(
        list.body.endpoints.map((e: { id: string }) => e.id),
        [endpoint],
      );
      assert.equal((await call('GET', '/v1/webhooks/deliveries', key)).status, 200);
      assert.equal((await call('GET', '/v1/webhooks/callback-secret', key)).status, 200);
    }
    const patched = await call('PATCH', `/v1/webhooks/endpoints/${endpoint}`, hooks, { description: 'orders' });
    assert.deepEqual([patched.status, patched.body.description], [200, 'orders']);
    const rotated = await call('POST', `/v1/webhooks/endpoints/${endpoint}/rotate-secret`, reader, {});
    assert.equal(rotated.status, 200, rotated.text);
    assert.match(rotated.body.secret, /^whsec_/);
    const cb = await call('POST', '/v1/webhooks/callback-secret/rotate', hooks, { grace_seconds: 60 });
    assert.equal(cb.status, 200, cb.text);
    // Configuration keys are their app's only key: they keep every scope.
    assert.equal((await call('GET', '/v1/webhooks/endpoints', KEYS.crm)).status, 200);
    assert.equal((await call('GET', '/v1/webhooks/endpoints', KEYS.dev)).status, 200);
  });

  it('takes a callback_url from every key of the app, scoped or not', async () => {
    for (const key of [plain, hooks]) {
      const r = await call('POST', '/v1/messages', key, {
        from: 1,
        to: { user: 2 },
        content: 'with a callback',
        callback_url: 'http://127.0.0.1:9/callback',
      });
      assert.equal(r.status, 202, r.text);
    }
  });

  it('shows in the key view, false for keys stored before it existed', async () => {
    const keys = await call('GET', '/v1/admin/apps/shop/keys', ADMIN_KEY);
    const flags = keys.body.keys.map((k: { scopes: { manage_webhooks: boolean } }) => k.scopes.manage_webhooks);
    assert.deepEqual(flags.sort(), [false, false, true]);
    // A key written by an earlier version: its scopes JSON has no manage_webhooks.
    const store = new TenantStore(conns[0]!, PREFIX);
    const old = await store.createKey('shop', {
      senders: '*',
      groups: '*',
      batches: true,
      manage_groups: true,
      read_all: false,
      manage_webhooks: false,
    });
    const scopes = JSON.parse((await conns[0]!.hget(`${PREFIX}:tn:key:${old.key.id}`, 'scopes'))!);
    delete scopes.manage_webhooks;
    await conns[0]!.hset(`${PREFIX}:tn:key:${old.key.id}`, 'scopes', JSON.stringify(scopes));
    const view = await call('GET', `/v1/admin/keys/${old.key.id}`, ADMIN_KEY);
    assert.equal(view.body.scopes.manage_webhooks, false);
    const r = await call('GET', '/v1/webhooks/endpoints', old.secret);
    assert.deepEqual([r.status, r.body.error.code], [403, 'forbidden_scope']);
  });
});
