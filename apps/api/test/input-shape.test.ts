// Answers in order, text as sent, over real TCP and a real redis-server (messages and batches in Redis, no
// worker): JSON nested too deep and text that is not well-formed Unicode are refused wherever they are (content,
// metadata, a batch's recipients, an NDJSON line, the legacy /query), a declared charset other than UTF-8 is 415,
// an Idempotency-Key reused with another request is 422, and pipelined requests are answered in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { RedisBatchService } from '../src/batch-service.ts';
import { RedisMessageService } from '../src/message-service.ts';
import { producerRedis } from '@ttpush/store';
import { RedisServer } from '@ttpush/testkit';
import { createApp } from '../src/app.ts';
import { createApiMetrics } from '../src/metrics.ts';
import { legacyResponseBytes } from '../src/legacy-reply.ts';
import { buildRequest, rawExchange, rawPost } from './helpers/raw-http.ts';
import { KEYS, testConfig } from './helpers/test-app.ts';

const PREFIX = 'tshape';
let redisServer: RedisServer;
let server: Server;
let port: number;
let url: string;
let batches: RedisBatchService;
let messages: RedisMessageService;
const conns: Redis[] = [];

before(async () => {
  redisServer = await RedisServer.start();
  const redis = producerRedis(redisServer.url);
  const queueConnection = producerRedis(redisServer.url);
  const subscriber = new Redis(redisServer.url);
  conns.push(redis, queueConnection, subscriber);
  for (const c of conns) c.on('error', () => undefined);
  await Promise.all(conns.map((c) => (c.status === 'ready' ? undefined : new Promise((r) => c.once('ready', r)))));
  batches = new RedisBatchService({ redis, queueConnection, prefix: PREFIX });
  messages = new RedisMessageService({ redis, subscriber, queueConnection, prefix: PREFIX, partitions: 1 });
  const app = createApp({
    config: testConfig(),
    service: messages,
    batches,
    logger: pino({ level: 'silent' }),
    metrics: createApiMetrics(new Registry()),
  });
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  url = `http://127.0.0.1:${port}`;
});

after(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await batches?.close();
  await messages?.close();
  for (const c of conns) c.disconnect();
  await redisServer?.stop();
});

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

async function post(path: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<Answer> {
  const r = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEYS.dev}`, 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await r.text();
  return { status: r.status, headers: r.headers, body: text ? JSON.parse(text) : null };
}

const ndjson = (text: string | Buffer, query = '', headers: Record<string, string> = {}) =>
  post(`/v1/batches${query}`, text, { 'content-type': 'application/x-ndjson', ...headers });

function assertError(a: Answer, status: number, code: string, field?: string | null): void {
  assert.equal(a.status, status, JSON.stringify(a.body));
  assert.equal(a.body.error.code, code, JSON.stringify(a.body));
  if (field !== undefined) assert.equal(a.body.error.field, field, JSON.stringify(a.body));
  assert.ok(a.body.error.message.length > 20);
}

/** JSON text of an object nested `depth` levels deep (`{"a":{"a":...{}}}`), written without recursion. */
function nested(depth: number): string {
  return '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);
}

const LEGACY_BAD = legacyResponseBytes({ code: 'bad_params' }).toString('utf8');

async function legacy(body: string): Promise<string> {
  return (await rawPost(port, '/query/SendSingleMessage', body)).toString('utf8');
}

test('JSON nested too deep is 400 invalid_field naming the field, in content, metadata and to, before any 500', async () => {
  for (const depth of [33, 2500]) {
    const deep = nested(depth);
    assertError(
      await post('/v1/messages', `{"from": 1, "to": {"user": 2}, "content": ${deep}}`),
      400,
      'invalid_field',
      'content',
    );
    assertError(
      await post('/v1/messages', `{"from": 1, "to": {"user": 2}, "content": "x", "metadata": ${deep}}`),
      400,
      'invalid_field',
      'metadata',
    );
  }
  const r = await post('/v1/messages', `{"from": 1, "to": {"user": 2, "x": ${nested(40)}}, "content": "x"}`);
  assertError(r, 400, 'invalid_field', 'to');
  assert.match(r.body.error.message, /nested more than 32 levels/);
  // At the limit: the body is level 1, so content may nest 31 levels.
  const ok = await post('/v1/messages', `{"from": 1, "to": {"user": 2}, "content": ${nested(31)}}`);
  assert.equal(ok.status, 202, JSON.stringify(ok.body));
});

test("a batch's recipients, its NDJSON first line and its lines are depth-checked too", async () => {
  const deep = nested(3000);
  assertError(
    await post('/v1/batches', `{"from": 1, "content": "x", "recipients": [{"user": 2}, ${deep}]}`),
    400,
    'invalid_field',
    'recipients[1]',
  );
  assertError(
    await post('/v1/batches', `{"from": 1, "content": ${deep}, "recipients": [{"user": 2}]}`),
    400,
    'invalid_field',
    'content',
  );
  const header = await ndjson(`{"from": 1, "content": ${deep}}\n{"user": 2}\n`);
  assertError(header, 400, 'invalid_field', 'content');
  assert.match(header.body.error.message, /^line 1 \(the header\)/);
  const line = await ndjson(`{"from": 1, "content": "x"}\n{"user": 2}\n{"user": 3, "content": ${deep}}\n`);
  assertError(line, 400, 'invalid_recipient', 'content');
  assert.equal(line.body.line, 3);
  const skipped = await ndjson(`{"from": 1, "content": "x"}\n{"user": 2}\n${deep}\n`, '?skip_invalid=true');
  assert.equal(skipped.status, 202, JSON.stringify(skipped.body));
  assert.equal(skipped.body.rejected, 1);
});

test('the legacy /query answers error 1 for JSON nested too deep, byte for byte', async () => {
  const deep = nested(100_000);
  assert.equal(
    await legacy(
      `{"app_key": "${KEYS.dev}", "req_user_id": 1, "from_user_id": 1, "session_id": 2, "msg": "x", "z": ${deep}}`,
    ),
    LEGACY_BAD,
  );
  assert.equal(await legacy(`{"app_key": "${KEYS.dev}", "msg": ${deep}}`), LEGACY_BAD);
});

test('text that is not well-formed Unicode is refused on /v1 (400 invalid_field naming it) and /query (error 1)', async () => {
  const lone = (s: string) => s.replace('@', '\\ud800');
  assertError(
    await post('/v1/messages', lone('{"from": 1, "to": {"user": 2}, "content": "x@y"}')),
    400,
    'invalid_field',
    'content',
  );
  assertError(
    await post('/v1/messages', '{"from": 1, "to": {"user": 2}, "content": "x\\udc00"}'),
    400,
    'invalid_field',
    'content',
  );
  assertError(
    await post('/v1/messages', lone('{"from": 1, "to": {"user": 2}, "content": {"t": ["ok", "@"]}}')),
    400,
    'invalid_field',
    'content.t[1]',
  );
  assertError(
    await post('/v1/messages', lone('{"from": 1, "to": {"user": 2}, "content": "x", "metadata": {"k@": 1}}')),
    400,
    'invalid_field',
    lone('metadata.k@').replace('\\ud800', '\ud800'),
  );
  // A pair written as escapes is one character, and passes.
  const pair = await post('/v1/messages', '{"from": 1, "to": {"user": 2}, "content": "rocket \\ud83d\\ude80"}');
  assert.equal(pair.status, 202, JSON.stringify(pair.body));
  assert.equal(
    await legacy(
      lone(`{"app_key": "${KEYS.dev}", "req_user_id": 1, "from_user_id": 1, "session_id": 2, "msg": "x@y"}`),
    ),
    LEGACY_BAD,
  );
  const group = await rawPost(
    port,
    '/query/SendGroupMessage',
    lone(`{"app_key": "${KEYS.dev}", "req_user_id": 1, "from_user_id": 1, "session_id": 7, "msg": "x@y"}`),
  );
  assert.equal(group.toString('utf8'), LEGACY_BAD);
});

test('lone surrogates in batches: JSON recipients, NDJSON header and lines', async () => {
  assertError(
    await post('/v1/batches', '{"from": 1, "content": "x", "recipients": [{"user": 2, "content": "a\\ud800"}]}'),
    400,
    'invalid_field',
    'recipients[0].content',
  );
  assertError(await ndjson('{"from": 1, "content": "a\\ud800"}\n{"user": 2}\n'), 400, 'invalid_field', 'content');
  const line = await ndjson('{"from": 1, "content": "x"}\n{"user": 2, "content": "a\\udfff"}\n');
  assertError(line, 400, 'invalid_recipient', 'content');
  assert.equal(line.body.line, 2);
});

test('a body declared in a charset other than UTF-8 is 415 unsupported_media_type, as the README says', async () => {
  const body = '{"from": 1, "to": {"user": 2}, "content": "x"}';
  for (const type of [
    'application/json; charset=utf-16',
    'application/json; charset=UTF-16LE',
    'application/json;charset="iso-8859-1"',
    'text/plain',
  ]) {
    assertError(await post('/v1/messages', body, { 'content-type': type }), 415, 'unsupported_media_type');
  }
  for (const type of ['application/json', 'application/json; charset=utf-8', 'application/json; charset="UTF-8"']) {
    const r = await post('/v1/messages', body, { 'content-type': type });
    assert.equal(r.status, 202, `${type}: ${JSON.stringify(r.body)}`);
  }
  const utf16 = Buffer.from('\ufeff' + body, 'utf16le');
  assertError(
    await post('/v1/messages', utf16, { 'content-type': 'application/json; charset=utf-16' }),
    415,
    'unsupported_media_type',
  );
  assertError(
    await post('/v1/batches', '{"from": 1, "content": "x", "recipients": [{"user": 2}]}', {
      'content-type': 'application/json; charset=utf-16',
    }),
    415,
    'unsupported_media_type',
  );
  assertError(
    await ndjson('{"from": 1, "content": "x"}\n{"user": 2}\n', '', {
      'content-type': 'application/x-ndjson; charset=utf-16',
    }),
    415,
    'unsupported_media_type',
  );
});

test('an Idempotency-Key reused with another message body is 422 idempotency_key_reused; the same body replays', async () => {
  const key = { 'idempotency-key': 'shape-msg-1' };
  const first = await post(
    '/v1/messages',
    '{"from": 1, "to": {"user": 2}, "content": "once", "metadata": {"a": 1, "b": 2}}',
    key,
  );
  assert.equal(first.status, 202);
  // Same request, other whitespace and key order: the first answer.
  const again = await post(
    '/v1/messages',
    '{ "metadata": {"b": 2, "a": 1}, "content": "once", "to": {"user": 2}, "from": 1 }',
    key,
  );
  assert.equal(again.status, 202);
  assert.equal(again.body.id, first.body.id);
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  for (const other of [
    '{"from": 1, "to": {"user": 2}, "content": "twice", "metadata": {"a": 1, "b": 2}}',
    '{"from": 1, "to": {"user": 3}, "content": "once", "metadata": {"a": 1, "b": 2}}',
    '{"from": 1, "to": {"user": 2}, "content": "once", "metadata": {"a": 1, "b": 3}}',
    '{"from": 1, "to": {"user": 2}, "content": "once", "metadata": {"a": 1, "b": 2}, "priority": "low"}',
  ]) {
    const r = await post('/v1/messages', other, key);
    assertError(r, 422, 'idempotency_key_reused', 'Idempotency-Key');
    assert.ok(r.body.error.message.includes(first.body.id), r.body.error.message);
  }
  // Waiting does not change the request.
  const waited = await post(
    '/v1/messages?wait=0.1',
    '{"from": 1, "to": {"user": 2}, "content": "once", "metadata": {"a": 1, "b": 2}}',
    key,
  );
  assert.equal(waited.body.id, first.body.id);
});

test('an Idempotency-Key reused with another batch is 422, for JSON and streamed NDJSON; the same upload replays', async () => {
  const before = (await batchIds()).size;
  const key = { 'idempotency-key': 'shape-batch-json' };
  const json = await post('/v1/batches', '{"from": 1, "content": "b", "recipients": [{"user": 2}, {"user": 3}]}', key);
  assert.equal(json.status, 202);
  const same = await post('/v1/batches', '{"recipients": [{"user": 2}, {"user": 3}], "content": "b", "from": 1}', key);
  assert.equal(same.body.id, json.body.id);
  assert.equal(same.headers.get('idempotent-replayed'), 'true');
  assertError(
    await post('/v1/batches', '{"from": 1, "content": "b", "recipients": [{"user": 2}, {"user": 4}]}', key),
    422,
    'idempotency_key_reused',
    'Idempotency-Key',
  );
  assertError(
    await post(
      '/v1/batches?skip_invalid=true',
      '{"from": 1, "content": "b", "recipients": [{"user": 2}, {"user": 3}]}',
      key,
    ),
    422,
    'idempotency_key_reused',
  );

  const nkey = { 'idempotency-key': 'shape-batch-ndjson' };
  const lines = ['{"from": 1, "content": "n"}', ...Array.from({ length: 2500 }, (_, i) => `{"user": ${10 + i}}`)];
  const first = await ndjson(`${lines.join('\n')}\n`, '', nkey);
  assert.equal(first.status, 202, JSON.stringify(first.body));
  // The same lines gzipped, with CRLF and blank lines: the same upload.
  const replay = await ndjson(gzipSync(`${lines.join('\r\n')}\r\n\r\n`), '', { ...nkey, 'content-encoding': 'gzip' });
  assert.equal(replay.status, 202, JSON.stringify(replay.body));
  assert.equal(replay.body.id, first.body.id);
  // One recipient changed near the end (after the header the key is found by): refused.
  const changed = [...lines];
  changed[2400] = '{"user": 99999}';
  assertError(await ndjson(`${changed.join('\n')}\n`, '', nkey), 422, 'idempotency_key_reused', 'Idempotency-Key');
  assertError(await ndjson(`${lines.slice(0, -1).join('\n')}\n`, '', nkey), 422, 'idempotency_key_reused');
  // Nothing was created by the refusals and replays: the two batches and those of earlier tests.
  assert.equal((await batchIds()).size, before + 2);
});

async function batchIds(): Promise<Set<string>> {
  const r = new Redis(redisServer.url);
  try {
    return new Set((await r.keys(`${PREFIX}:b:{*}`)).map((k) => /\{(bat_[^}]+)\}/.exec(k)![1]!));
  } finally {
    r.disconnect();
  }
}

test('two pipelined requests on one connection are answered in order: the 202, then the legacy reply', async () => {
  const send = buildRequest({
    path: '/v1/messages?wait=0.5',
    headers: { authorization: `Bearer ${KEYS.dev}`, 'content-type': 'application/json' },
    body: '{"from": 1, "to": {"user": 2}, "content": "first in line"}',
  });
  const bad = buildRequest({ path: '/query/SendSingleMessage', body: '{"app_key": "x", "msg": ' });
  const bytes = (await rawExchange(port, Buffer.concat([send, bad]))).toString('utf8');
  assert.match(bytes, /^HTTP\/1\.1 202 Accepted\r\n/);
  const at = bytes.indexOf('HTTP/1.1 200 OK');
  assert.ok(at > 0, bytes);
  const first = bytes.slice(0, at);
  const body = JSON.parse(first.slice(first.indexOf('\r\n\r\n') + 4));
  assert.match(body.id, /^msg_/);
  assert.equal(body.status, 'queued');
  // The old reply, byte for byte, closes the exchange.
  assert.equal(bytes.slice(at), LEGACY_BAD);
});
