/** Scoped tenant keys over HTTP: admin endpoints, scope refusals, read_all, quotas, revocation, no secret in logs. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { RedisBatchService } from '../src/batch-service.ts';
import { consumerRedis, producerRedis } from '@ttpush/store';
import { RedisServer } from '@ttpush/testkit';
import { createApp } from '../src/app.ts';
import { createApiMetrics } from '../src/metrics.ts';
import { allOperations } from '../src/openapi/registry.ts';
import { TenantKeyring } from '../src/tenants/keyring.ts';
import { TenantStore } from '@ttpush/store';
import { MemoryService } from './helpers/memory-service.ts';
import { KEYS, startTestApp, testConfig } from './helpers/test-app.ts';

const ADMIN_KEY = 'admin-key-for-tests-0123456789';

let redisServer: RedisServer;
let server: Server;
let url: string;
const conns: Redis[] = [];
const logChunks: string[] = [];
const secrets: string[] = [];
const registry = new Registry();

before(async () => {
  redisServer = await RedisServer.start();
  const redis = producerRedis(redisServer.url);
  const queueConnection = producerRedis(redisServer.url);
  const notices = consumerRedis(redisServer.url);
  conns.push(redis, queueConnection, notices);
  for (const c of conns) c.on('error', () => undefined);
  await Promise.all(conns.map((c) => (c.status === 'ready' ? undefined : new Promise((r) => c.once('ready', r)))));
  const store = new TenantStore(redis, 'tht');
  const keyring = new TenantKeyring(store);
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        logChunks.push(chunk.toString('utf8'));
        cb();
      },
    }),
  );
  await keyring.listen(notices, logger);
  const app = createApp({
    config: testConfig({ adminKey: ADMIN_KEY }),
    service: new MemoryService(),
    batches: new RedisBatchService({ redis, queueConnection, prefix: 'tht' }),
    logger,
    metrics: createApiMetrics(registry),
    tenants: { store, keyring },
  });
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
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
  return { status: r.status, headers: r.headers, body: text ? JSON.parse(text) : null, text };
}
const admin = (method: string, path: string, body?: unknown) => call(method, path, ADMIN_KEY, body);

async function newKey(app: string, scopes: Record<string, unknown>): Promise<{ id: string; secret: string }> {
  const r = await admin('POST', `/v1/admin/apps/${app}/keys`, scopes);
  assert.equal(r.status, 201, r.text);
  secrets.push(r.body.secret);
  return { id: r.body.key.id, secret: r.body.secret };
}

describe('admin endpoints', () => {
  it('refuse a request without the admin key, or with an app key', async () => {
    for (const key of ['', 'wrong-admin-key-0123456789', KEYS.dev]) {
      const r = await call('GET', '/v1/admin/apps', key);
      assert.equal(r.status, 401, key);
      assert.equal(r.body.error.code, 'unauthorized');
    }
  });

  it('answer 403 admin_disabled when TTPUSH_ADMIN_KEY is unset', async () => {
    const store = new TenantStore(conns[0]!, 'tht-off');
    const app = createApp({
      config: testConfig({ adminKey: undefined }),
      service: new MemoryService(),
      logger: pino({ level: 'silent' }),
      metrics: createApiMetrics(new Registry()),
      tenants: { store, keyring: new TenantKeyring(store) },
    });
    const off = createServer(app);
    await new Promise<void>((resolve) => off.listen(0, '127.0.0.1', resolve));
    try {
      const r = await fetch(`http://127.0.0.1:${(off.address() as AddressInfo).port}/v1/admin/apps`, {
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
      });
      assert.equal(r.status, 403);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'admin_disabled');
    } finally {
      off.closeAllConnections();
      await new Promise<void>((resolve) => off.close(() => resolve()));
    }
  });

  it('exist without Redis too, answering 503 redis_unavailable once the admin key is checked', async () => {
    const t = await startTestApp({ adminKey: ADMIN_KEY });
    try {
      const get = (key: string) => fetch(`${t.url}/v1/admin/apps`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal((await get('wrong-admin-key-0123456789')).status, 401);
      const r = await get(ADMIN_KEY);
      assert.equal(r.status, 503);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'redis_unavailable');
    } finally {
      await t.close();
    }
  });

  it('are each described in the API reference, with the admin key as their auth', () => {
    const ops = allOperations().filter((o) => o.path.startsWith('/v1/admin/'));
    const described = ops.map((o) => `${o.method.toUpperCase()} ${o.path}`).sort();
    assert.deepEqual(described, [
      'DELETE /v1/admin/keys/{id}',
      'GET /v1/admin/apps',
      'GET /v1/admin/apps/{name}',
      'GET /v1/admin/apps/{name}/keys',
      'GET /v1/admin/audit',
      'GET /v1/admin/keys',
      'GET /v1/admin/keys/{id}',
      'PATCH /v1/admin/apps/{name}',
      'POST /v1/admin/apps',
      'POST /v1/admin/apps/{name}/keys',
      'POST /v1/admin/keys/{id}/rotate',
    ]);
    assert.ok(ops.every((o) => o.auth === 'admin'));
  });

  it('create an app, refuse a taken, reserved or malformed name, and unknown fields', async () => {
    const r = await admin('POST', '/v1/admin/apps', { name: 'shop', rate_limit: 100, priority: 'high' });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(
      [r.body.name, r.body.rate_limit, r.body.daily_quota, r.body.priority, r.body.disabled],
      ['shop', 100, null, 'high', false],
    );
    assert.equal((await admin('POST', '/v1/admin/apps', { name: 'shop' })).body.error.code, 'app_exists');
    const reserved = await admin('POST', '/v1/admin/apps', { name: 'crm' });
    assert.deepEqual([reserved.status, reserved.body.error.code], [409, 'app_exists']);
    const bad = await admin('POST', '/v1/admin/apps', { name: 'Shop!' });
    assert.deepEqual([bad.status, bad.body.error.code, bad.body.error.field], [400, 'invalid_field', 'name']);
    const unknown = await admin('POST', '/v1/admin/apps', { name: 'x1', colour: 'red' });
    assert.deepEqual([unknown.body.error.code, unknown.body.error.field], ['unknown_field', 'colour']);
    const missing = await admin('POST', '/v1/admin/apps', {});
    assert.deepEqual([missing.body.error.code, missing.body.error.field], ['missing_field', 'name']);
    const patch = await admin('PATCH', '/v1/admin/apps/shop', { rate_limit: null, daily_quota: 10 });
    assert.deepEqual([patch.status, patch.body.rate_limit, patch.body.daily_quota], [200, null, 10]);
    assert.equal((await admin('PATCH', '/v1/admin/apps/nope', { disabled: true })).status, 404);
  });

  it('show a key secret once: never in a later read or list', async () => {
    const k = await newKey('shop', { senders: '*' });
    assert.match(k.secret, /^ttpk_key_[0-9a-f]{16}_/);
    const one = await admin('GET', `/v1/admin/keys/${k.id}`);
    assert.equal(one.status, 200);
    assert.equal(one.body.id, k.id);
    assert.deepEqual(one.body.scopes, {
      senders: '*',
      groups: [],
      batches: false,
      manage_groups: false,
      read_all: false,
      manage_webhooks: false,
    });
    const list = await admin('GET', '/v1/admin/apps/shop/keys');
    const all = await admin('GET', '/v1/admin/keys');
    const part = k.secret.split('_').slice(3).join('_');
    for (const r of [one, list, all]) {
      assert.ok(!r.text.includes(part), 'secret in a read');
      assert.ok(!r.text.includes('"hash"'), 'hash in a read');
    }
    assert.ok(list.body.keys.some((x: { id: string }) => x.id === k.id));
  });
});

describe('scoped keys', () => {
  let narrow: { id: string; secret: string };
  let sibling: { id: string; secret: string };
  let reader: { id: string; secret: string };

  before(async () => {
    assert.equal((await admin('POST', '/v1/admin/apps', { name: 'crm2' })).status, 201);
    narrow = await newKey('crm2', { senders: [1001], groups: [7] });
    sibling = await newKey('crm2', { senders: '*', groups: '*' });
    reader = await newKey('crm2', { senders: [1001], read_all: true });
  });

  const send = (key: string, body: unknown) => call('POST', '/v1/messages', key, body);

  it('send as their senders to their groups; anything else is 403 with a code naming the field', async () => {
    assert.equal((await send(narrow.secret, { from: 1001, to: { user: 5 }, content: 'hi' })).status, 202);
    assert.equal((await send(narrow.secret, { from: 1001, to: { group: 7 }, content: 'hi' })).status, 202);
    const sender = await send(narrow.secret, { from: 1002, to: { user: 5 }, content: 'hi' });
    assert.deepEqual(
      [sender.status, sender.body.error.code, sender.body.error.field],
      [403, 'forbidden_sender', 'from'],
    );
    const group = await send(narrow.secret, { from: 1001, to: { group: 8 }, content: 'hi' });
    assert.deepEqual(
      [group.status, group.body.error.code, group.body.error.field],
      [403, 'forbidden_group', 'to.group'],
    );
    assert.match(group.body.error.message, /group 8/);
  });

  it('without the batches or manage_groups scope, batches and group administration are 403 forbidden_scope', async () => {
    const batch = await call('POST', '/v1/batches', narrow.secret, {
      from: 1001,
      content: 'x',
      recipients: [{ user: 2 }],
    });
    assert.deepEqual([batch.status, batch.body.error.code], [403, 'forbidden_scope']);
    assert.match(batch.body.error.message, /'batches' scope/);
    const group = await call('POST', '/v1/groups', narrow.secret, { creator: 1001, name: 'g', members: [1001] });
    assert.deepEqual([group.status, group.body.error.code], [403, 'forbidden_scope']);
    assert.match(group.body.error.message, /'manage_groups' scope/);
  });

  it("read another key's message only with read_all; another app never", async () => {
    const sent = await send(narrow.secret, { from: 1001, to: { user: 9 }, content: 'mine' });
    const path = `/v1/messages/${sent.body.id}`;
    assert.equal((await call('GET', path, narrow.secret)).status, 200);
    assert.equal((await call('GET', path, reader.secret)).status, 200);
    const other = await call('GET', path, sibling.secret);
    assert.deepEqual([other.status, other.body.error.code], [404, 'not_found']);
    assert.equal((await call('GET', path, KEYS.ops)).status, 404);
    assert.equal((await call('DELETE', path, sibling.secret)).status, 404);
  });

  it("an Idempotency-Key never answers with another key's message the caller may not read", async () => {
    const headers = { 'idempotency-key': 'same-key-1' };
    const post = (key: string) =>
      fetch(`${url}/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ from: 1001, to: { user: 5 }, content: 'idem' }),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as { id: string } }));
    const first = await post(narrow.secret);
    const again = await post(narrow.secret);
    const other = await post(sibling.secret);
    assert.deepEqual([first.status, again.status, other.status], [202, 202, 202]);
    assert.equal(again.body.id, first.body.id);
    assert.notEqual(other.body.id, first.body.id);
  });

  it('a daily quota refuses with 429 quota_exceeded and Retry-After until UTC midnight', async () => {
    assert.equal((await admin('POST', '/v1/admin/apps', { name: 'tiny', daily_quota: 2 })).status, 201);
    const k = await newKey('tiny', { senders: '*' });
    for (let i = 0; i < 2; i++)
      assert.equal((await send(k.secret, { from: 1, to: { user: 2 }, content: 'q' })).status, 202);
    const r = await send(k.secret, { from: 1, to: { user: 2 }, content: 'q' });
    assert.deepEqual([r.status, r.body.error.code], [429, 'quota_exceeded']);
    const retry = Number(r.headers.get('retry-after'));
    assert.ok(retry >= 1 && retry <= 86_400, String(retry));
  });

  it("a repeat of an Idempotency-Key's message does not count against the daily quota", async () => {
    assert.equal((await admin('POST', '/v1/admin/apps', { name: 'retrier', daily_quota: 2 })).status, 201);
    const k = await newKey('retrier', { senders: '*' });
    const post = (idem: string) =>
      fetch(`${url}/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${k.secret}`, 'content-type': 'application/json', 'idempotency-key': idem },
        body: JSON.stringify({ from: 1, to: { user: 2 }, content: 'once' }),
      });
    const first = await post('same');
    assert.equal(first.status, 202);
    const firstId = ((await first.json()) as { id: string }).id;
    for (let i = 0; i < 3; i++) {
      const again = await post('same');
      assert.equal(again.status, 202, 'replayed, not refused');
      assert.equal(again.headers.get('idempotent-replayed'), 'true');
      assert.equal(((await again.json()) as { id: string }).id, firstId);
    }
    // One message counted so far: one more fits, the next does not.
    assert.equal((await post('second')).status, 202);
    assert.equal((await post('third')).status, 429);
  });

  it('a batch counts its recipients against the daily quota, and is refused whole when they would pass it', async () => {
    assert.equal((await admin('POST', '/v1/admin/apps', { name: 'bulk', daily_quota: 3 })).status, 201);
    const k = await newKey('bulk', { senders: '*', groups: '*', batches: true });
    const batch = (n: number) =>
      call('POST', '/v1/batches', k.secret, {
        from: 1,
        content: 'b',
        recipients: Array.from({ length: n }, (_, i) => ({ user: 100 + i })),
      });
    const tooBig = await batch(4);
    assert.deepEqual([tooBig.status, tooBig.body.error.code], [429, 'quota_exceeded']);
    assert.equal((await batch(3)).status, 202, 'nothing was counted for the refused upload');
    assert.equal((await batch(1)).body.error.code, 'quota_exceeded');
  });

  it("a batch recipient group outside the key's groups refuses the upload, even with skip_invalid", async () => {
    const k = await newKey('crm2', { senders: '*', groups: [7], batches: true });
    const r = await call('POST', '/v1/batches?skip_invalid=true', k.secret, {
      from: 1,
      content: 'b',
      recipients: [{ user: 2 }, { group: 7 }, { group: 9 }],
    });
    assert.deepEqual(
      [r.status, r.body.error.code, r.body.error.field],
      [403, 'forbidden_group', 'recipients[2].group'],
    );
  });

  it('a revoked key is refused on the next request', async () => {
    const k = await newKey('crm2', { senders: '*' });
    assert.equal((await send(k.secret, { from: 1, to: { user: 2 }, content: 'a' })).status, 202);
    assert.equal((await admin('DELETE', `/v1/admin/keys/${k.id}`)).status, 200);
    // The notice travels through Redis pub/sub: a few ms, but a loaded machine may take longer. Under the keyring's 5 s
    // cache TTL, so that only the notice can make the key refused.
    const deadline = Date.now() + 4000;
    let status = 0;
    while (
      Date.now() < deadline &&
      (status = (await send(k.secret, { from: 1, to: { user: 2 }, content: 'b' })).status) !== 401
    );
    assert.equal(status, 401);
  });

  it('log lines carry the app and key id, and never a secret', async () => {
    const text = logChunks.join('');
    assert.ok(secrets.length >= 5);
    for (const s of secrets) assert.ok(!text.includes(s.split('_').slice(3).join('_')), 'a secret is in the log');
    const lines = text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(lines.some((l) => l.msg === 'request' && l.app === 'crm2' && l.keyId === narrow.id));
    assert.ok(lines.some((l) => l.msg === 'admin change' && l.action === 'key.create'));
  });

  it("metrics count each app's requests by status, and admin changes by action", async () => {
    const text = await registry.metrics();
    assert.match(text, /ttpush_app_requests_total\{app="crm2",status="403"\} [1-9]/);
    assert.match(text, /ttpush_app_requests_total\{app="tiny",status="429"\} 1/);
    assert.match(text, /ttpush_admin_changes_total\{action="key.revoke"\} [1-9]/);
  });

  it('the audit log lists the changes with their request ids, filtered by app', async () => {
    const r = await admin('GET', '/v1/admin/audit?app=crm2&limit=50');
    assert.equal(r.status, 200, r.text);
    const actions = r.body.entries.map((e: { action: string }) => e.action);
    assert.ok(
      actions.includes('app.create') && actions.includes('key.create') && actions.includes('key.revoke'),
      actions.join(),
    );
    assert.ok(r.body.entries.every((e: { app: string; request_id: string }) => e.app === 'crm2' && e.request_id));
    const bad = await admin('GET', '/v1/admin/audit?limit=0');
    assert.deepEqual([bad.status, bad.body.error.field], [400, 'limit']);
  });
});
