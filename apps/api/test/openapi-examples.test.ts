/**
 * The reference against the live app (over the in-memory message service, a real redis-server for
 * batches, and an in-memory GroupAdmin): every operation's example validates against its schema and is
 * accepted; bodies generated wrong from the document's schema (a required field missing, an unknown field,
 * a wrong type) are refused with 400; and every answer the app gives conforms to the documented response
 * schema of its status (the Error schema, with a listed code, for a refusal).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { z } from 'zod';
import { RedisBatchService } from '../src/batch-service.ts';
import { WebhookStore, producerRedis } from '@ttpush/store';
import { RedisServer } from '@ttpush/testkit';
import { createApp } from '../src/app.ts';
import { ERROR_STATUS } from '../src/errors.ts';
import type { GroupAdmin } from '../src/groups.ts';
import { createApiMetrics } from '../src/metrics.ts';
import { allOperations, apiDocument } from '../src/openapi/index.ts';
import type { OperationSpec } from '../src/openapi/registry.ts';
import { ErrorBody } from '../src/schemas/error.ts';
import { TenantKeyring } from '../src/tenants/keyring.ts';
import { TenantStore } from '@ttpush/store';
import { MemoryService } from './helpers/memory-service.ts';
import { KEYS, testConfig } from './helpers/test-app.ts';

type Json = Record<string, any>;

const ADMIN_KEY = 'openapi-admin-key-0123456789';

let redisServer: RedisServer;
let server: Server;
let url: string;
let batches: RedisBatchService;
const service = new MemoryService();
const conns: Redis[] = [];
const doc = apiDocument() as Json;
/** Every answer seen, checked against the reference at the end. */
const seen: { op: OperationSpec; status: number; type: string; text: string }[] = [];

/** Answers like a TeamTalk that accepts everything: group 7 with the members asked for. */
const groups: GroupAdmin = {
  create: async (input) => ({ groupId: 7, name: input.name, members: [...input.members] }),
  changeMembers: async (input) => ({
    groupId: input.groupId,
    members: [1001, ...input.members],
    changed: [...input.members],
  }),
  close: async () => undefined,
};

before(async () => {
  redisServer = await RedisServer.start();
  const redis = producerRedis(redisServer.url);
  const queueConnection = producerRedis(redisServer.url);
  conns.push(redis, queueConnection);
  for (const c of conns) c.on('error', () => undefined);
  await Promise.all(conns.map((c) => (c.status === 'ready' ? undefined : new Promise((r) => c.once('ready', r)))));
  batches = new RedisBatchService({ redis, queueConnection, prefix: 'toas' });
  service.plan = { kind: 'sent', msgId: 4711, afterMs: 0 };
  const store = new TenantStore(redis, 'toas');
  const base = testConfig({ adminKey: ADMIN_KEY });
  const app = createApp({
    // The examples' webhook URLs are pointed at loopback (no DNS here): allowed for this test.
    config: { ...base, webhooks: { ...base.webhooks, allowedNetworks: ['127.0.0.1/32'] } },
    webhooks: new WebhookStore(redis, 'toas'),
    service,
    batches,
    groups,
    tenants: { store, keyring: new TenantKeyring(store) },
    logger: pino({ level: 'silent' }),
    metrics: createApiMetrics(new Registry()),
  });
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  service.close();
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await batches?.close();
  for (const c of conns) c.disconnect();
  await redisServer?.stop();
});

function operation(method: string, path: string): OperationSpec {
  const op = allOperations().find((o) => o.method === method && o.path === path);
  assert.ok(op, `no operation ${method} ${path}`);
  return op;
}

interface Answer {
  status: number;
  type: string;
  text: string;
  body: any;
}

/** Calls an operation (path parameters filled in) and records the answer for the conformance check. */
async function call(
  op: OperationSpec,
  opts: { params?: Record<string, string>; query?: string; body?: string; type?: string; auth?: boolean } = {},
): Promise<Answer> {
  const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(opts.params?.[name] ?? 'x'));
  const headers: Record<string, string> = {};
  if (op.auth === 'app' && opts.auth !== false) headers.authorization = `Bearer ${KEYS.dev}`;
  if (op.auth === 'admin' && opts.auth !== false) headers.authorization = `Bearer ${ADMIN_KEY}`;
  if (opts.body !== undefined) headers['content-type'] = opts.type ?? 'application/json';
  const r = await fetch(`${url}${path}${opts.query ?? ''}`, {
    method: op.method.toUpperCase(),
    headers,
    ...(opts.body !== undefined && { body: opts.body }),
  });
  const text = await r.text();
  const type = (r.headers.get('content-type') ?? '').split(';')[0]!;
  seen.push({ op, status: r.status, type, text });
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    // NDJSON, metrics text, HTML: read as text.
  }
  return { status: r.status, type, text, body };
}

/** The example of an operation's body, with the legacy app_key made a real one and a webhook URL made loopback. */
function exampleOf(op: OperationSpec): unknown {
  const example = op.body?.example;
  if (example !== null && typeof example === 'object' && 'app_key' in example) return { ...example, app_key: KEYS.dev };
  if (example !== null && typeof example === 'object' && 'url' in example) {
    return { ...example, url: 'http://127.0.0.1:9/ttpush/events' };
  }
  return example;
}

const isLegacy = (op: OperationSpec) => op.path.startsWith('/query/');

/** A refusal: 400 on /v1, error_code 1 (bad parameters) on the legacy endpoints (which always answer 200). */
function assertRefused(op: OperationSpec, a: Answer, what: string): void {
  if (isLegacy(op)) assert.equal(a.body?.error_code, 1, `${op.path} ${what}: ${a.text}`);
  else assert.equal(a.status, 400, `${op.method} ${op.path} ${what}: ${a.status} ${a.text}`);
}

const jsonOps = () => allOperations().filter((op) => op.body?.contentType === 'application/json');

/** The document's schema of an operation's JSON body, $ref resolved. */
function bodySchema(op: OperationSpec): Json {
  let schema = doc.paths[op.path][op.method].requestBody.content['application/json'].schema;
  while (schema.$ref) schema = doc.components.schemas[schema.$ref.split('/').pop()];
  return schema;
}

const ids = { message: '', batch: '', key: '', endpoint: '' };

/** Path parameters: the app the admin example creates ('marketing') and the key created for it. */
const paramsOf = (op: OperationSpec) => ({
  id: op.path.startsWith('/v1/admin/keys/')
    ? ids.key
    : op.path.startsWith('/v1/webhooks/endpoints/')
      ? ids.endpoint
      : '7',
  name: 'marketing',
});

test('every example validates against its schema', () => {
  const bodies = allOperations().flatMap((op) => (op.body ? [op.body, ...(op.alternateBodies ?? [])] : []));
  assert.ok(bodies.length >= 8);
  for (const body of bodies) {
    if (body.example === undefined) continue;
    if (body.lines) {
      const lines = String(body.example)
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown);
      if (body.lines.first) assert.ok(body.lines.first.safeParse(lines.shift()).success, 'the first line');
      for (const line of lines) assert.ok(body.lines.each.safeParse(line).success, JSON.stringify(line));
    } else {
      const r = body.schema.safeParse(body.example);
      assert.ok(r.success, `${JSON.stringify(body.example)}: ${r.error?.message}`);
    }
  }
});

test('the live app accepts every example body', async () => {
  // The callback secret exists once read: rotating it (an example below) needs one.
  await call(operation('get', '/v1/webhooks/callback-secret'));
  for (const op of jsonOps()) {
    const a = await call(op, { params: paramsOf(op), body: JSON.stringify(exampleOf(op)) });
    if (isLegacy(op)) {
      assert.equal(a.status, 200);
      assert.equal(a.body.error_code, 0, `${op.path}: ${a.text}`);
    } else {
      assert.ok(a.status >= 200 && a.status < 300, `${op.method} ${op.path}: ${a.status} ${a.text}`);
    }
    if (op.path === '/v1/messages') ids.message = a.body.id;
    if (op.path === '/v1/batches') ids.batch = a.body.id;
    if (op.path === '/v1/admin/apps/{name}/keys') ids.key = a.body.key.id;
    if (op.path === '/v1/webhooks/endpoints' && op.method === 'post') ids.endpoint = a.body.id;
  }
  const upload = operation('post', '/v1/batches').alternateBodies![0]!;
  const a = await call(operation('post', '/v1/batches'), {
    body: String(upload.example),
    type: upload.contentType,
  });
  assert.equal(a.status, 202, a.text);
  assert.ok(ids.message && ids.batch);
});

test('bodies generated wrong from the schema are refused: a required field missing, an unknown field, a wrong type', async () => {
  let refusals = 0;
  for (const op of jsonOps()) {
    const example = exampleOf(op) as Json;
    const schema = bodySchema(op);
    const params = paramsOf(op);
    const required: string[] = (schema.required ?? []).filter((f: string) => f !== 'app_key');
    for (const field of required) {
      const { [field]: _gone, ...missing } = example;
      assertRefused(op, await call(op, { params, body: JSON.stringify(missing) }), `without ${field}`);
      refusals++;
    }
    // Every field of the example with a value of a type it never takes: a string for a boolean, else true.
    for (const field of Object.keys(example).filter((f) => f !== 'app_key')) {
      const bad = schema.properties?.[field]?.type === 'boolean' ? 'yes' : true;
      const wrong = { ...example, [field]: bad };
      assertRefused(op, await call(op, { params, body: JSON.stringify(wrong) }), `${field}: ${JSON.stringify(bad)}`);
      refusals++;
    }
    if (schema.additionalProperties === false) {
      const a = await call(op, { params, body: JSON.stringify({ ...example, zz_unknown: 1 }) });
      assertRefused(op, a, 'with an unknown field');
      assert.equal(a.body.error.code, 'unknown_field');
      refusals++;
    }
  }
  assert.ok(refusals >= 30, `only ${refusals} refusals tried`);
});

test('the other operations answer in their documented shapes', async () => {
  const get = (path: string) => operation('get', path);
  await call(get('/v1/messages/{id}'), { params: { id: ids.message } });
  await call(get('/v1/messages/{id}'), { params: { id: 'no-such-message' } });
  await call(get('/v1/messages/{id}'), { params: { id: ids.message }, auth: false });
  await call(operation('delete', '/v1/messages/{id}'), { params: { id: ids.message } });
  await call(get('/v1/batches/{id}'), { params: { id: ids.batch } });
  await call(get('/v1/batches/{id}/results'), { params: { id: ids.batch } });
  await call(get('/v1/batches/{id}/results'), { params: { id: ids.batch }, query: '?format=ndjson' });
  await call(get('/v1/batches/{id}/results'), { params: { id: ids.batch }, query: '?limit=0' });
  await call(operation('post', '/v1/batches/{id}/pause'), { params: { id: ids.batch } });
  await call(operation('post', '/v1/batches/{id}/resume'), { params: { id: ids.batch } });
  await call(operation('delete', '/v1/batches/{id}'), { params: { id: ids.batch } });
  // A cancelled batch can be neither paused nor resumed: 409s.
  await call(operation('post', '/v1/batches/{id}/pause'), { params: { id: ids.batch } });
  await call(operation('post', '/v1/batches/{id}/resume'), { params: { id: ids.batch } });
  await call(get('/v1/batches/{id}'), { params: { id: 'no-such-batch' } });
  for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs']) await call(get(path));
  service.healthReport = { redis: true, workers: [] };
  await call(get('/readyz'));
});

test('every answer seen conforms to the documented response of its status', () => {
  assert.ok(seen.length >= 60, `only ${seen.length} answers`);
  const statuses = new Set<number>();
  for (const { op, status, type, text } of seen) {
    const where = `${op.method.toUpperCase()} ${op.path} → ${status} ${type}`;
    statuses.add(status);
    const spec = op.responses[String(status)];
    if (spec) {
      const bodies = spec.body ? [spec.body, ...(spec.alternateBodies ?? [])] : [];
      const body = bodies.find((b) => b.contentType === type);
      assert.ok(body, `${where}: the content type is not documented`);
      if (body.lines) {
        const lines = text.split('\n').filter((l) => l.length > 0);
        for (const line of lines) conforms(body.lines.each, JSON.parse(line), where);
      } else if (type === 'application/json' || (type === 'text/html' && isLegacy(op))) {
        conforms(body.schema, JSON.parse(text), where);
      } else {
        conforms(body.schema, text, where);
      }
    } else {
      const parsed = ErrorBody.parse(JSON.parse(text));
      assert.ok(
        (op.errors ?? []).includes(parsed.error.code) && String(ERROR_STATUS[parsed.error.code]) === String(status),
        `${where}: ${parsed.error.code} is not among the operation's documented errors`,
      );
    }
  }
  for (const s of [200, 201, 202, 400, 401, 404, 409, 503])
    assert.ok(statuses.has(s), `no answer with status ${s} was checked`);
});

function conforms(schema: z.ZodType, value: unknown, where: string): void {
  const r = schema.safeParse(value);
  assert.ok(r.success, `${where}: ${r.error?.message}\n${JSON.stringify(value).slice(0, 500)}`);
}
