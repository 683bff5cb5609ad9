// /v1/batches over real TCP and a real redis-server, without a worker: uploads (JSON, NDJSON, gzip), every
// refusal with its code and the field or line it names, state changes, results paging, 503 when Redis is down.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { RedisBatchService } from '../src/batch-service.ts';
import { producerRedis } from '@ttpush/store';
import { RedisServer } from '@ttpush/testkit';
import { createApp } from '../src/app.ts';
import { createApiMetrics } from '../src/metrics.ts';
import { MemoryService } from './helpers/memory-service.ts';
import { KEYS, testConfig } from './helpers/test-app.ts';

let redisServer: RedisServer;
let server: Server;
let url: string;
let batches: RedisBatchService;
const conns: Redis[] = [];

before(async () => {
  redisServer = await RedisServer.start();
  const redis = producerRedis(redisServer.url);
  const queueConnection = producerRedis(redisServer.url);
  conns.push(redis, queueConnection);
  for (const c of conns) c.on('error', () => undefined);
  // The producer connections have no offline queue: a request before they are ready would get 503.
  await Promise.all(conns.map((c) => (c.status === 'ready' ? undefined : new Promise((r) => c.once('ready', r)))));
  batches = new RedisBatchService({ redis, queueConnection, prefix: 'tapi' });
  const app = createApp({
    config: testConfig(),
    service: new MemoryService(),
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

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

async function call(
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
  key: string = KEYS.dev,
): Promise<Answer> {
  const r = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...headers },
    ...(body !== undefined && { body }),
  });
  const text = await r.text();
  return { status: r.status, headers: r.headers, body: text ? JSON.parse(text) : null };
}

const postJson = (body: unknown, query = '', headers: Record<string, string> = {}, key?: string) =>
  call('POST', `/v1/batches${query}`, JSON.stringify(body), { 'content-type': 'application/json', ...headers }, key);

const postNdjson = (text: string | Buffer, query = '', headers: Record<string, string> = {}) =>
  call('POST', `/v1/batches${query}`, text, { 'content-type': 'application/x-ndjson', ...headers });

function assertError(a: Answer, status: number, code: string, field?: string | null): void {
  assert.equal(a.status, status, JSON.stringify(a.body));
  assert.equal(a.body.error.code, code, JSON.stringify(a.body));
  if (field !== undefined) assert.equal(a.body.error.field, field, JSON.stringify(a.body));
  assert.ok(a.body.error.message.length > 20);
}

async function batchKeys(): Promise<string[]> {
  const r = new Redis(redisServer.url);
  try {
    return await r.keys('tapi:b:*');
  } finally {
    r.disconnect();
  }
}

test('a JSON batch is answered 202 with its id, status queued and total, and a Location', async () => {
  const r = await postJson({ from: 1, content: 'hi', recipients: [{ user: 2 }, { group: 7 }, { user: 2 }] });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.match(r.body.id, /^bat_/);
  assert.equal(r.body.status, 'queued');
  assert.equal(r.body.total, 2);
  assert.equal(r.body.duplicates, 1);
  assert.deepEqual(r.body.counts, { queued: 2, sending: 0, sent: 0, failed: 0, cancelled: 0 });
  assert.equal(r.headers.get('location'), `/v1/batches/${r.body.id}`);
  const g = await call('GET', `/v1/batches/${r.body.id}`);
  assert.equal(g.status, 200);
  assert.deepEqual(g.body, r.body);
});

test('authentication and the sender right are checked like /v1/messages', async () => {
  const body = { from: 5, content: 'x', recipients: [{ user: 2 }] };
  assertError(await postJson(body, '', {}, 'not-a-key-at-all-000'), 401, 'unauthorized');
  assertError(await postJson(body, '', {}, KEYS.crm), 403, 'forbidden_sender', 'from');
  const ok = await postJson({ ...body, from: 1001 }, '', {}, KEYS.crm);
  assert.equal(ok.status, 202);
});

test('bad JSON uploads are refused with the code and field they break', async () => {
  const cases: [unknown, number, string, string | null][] = [
    [[1, 2], 400, 'invalid_json', null],
    [{ from: 1, content: 'x' }, 400, 'missing_field', 'recipients'],
    [{ from: 1, content: 'x', recipients: [] }, 400, 'invalid_field', 'recipients'],
    [{ from: 1, content: 'x', recipients: [{ user: 2 }], to: 3 }, 400, 'unknown_field', 'to'],
    [{ content: 'x', recipients: [{ user: 2 }] }, 400, 'missing_field', 'from'],
    [{ from: 1, content: '', recipients: [{ user: 2 }] }, 400, 'content_empty', 'content'],
    [{ from: 1, content: 'x', priority: 'urgent', recipients: [{ user: 2 }] }, 400, 'invalid_field', 'priority'],
    [{ from: 1, content: 'x', send_at: 'tomorrow', recipients: [{ user: 2 }] }, 400, 'invalid_field', 'send_at'],
    [
      { from: 1, content: 'x', deadline: '2020-01-01T00:00:00Z', recipients: [{ user: 2 }] },
      400,
      'invalid_field',
      'deadline',
    ],
    [{ from: 1, content: 'x', recipients: [{ user: 2 }, [3]] }, 400, 'invalid_recipient', 'recipients[1]'],
    [{ from: 1, content: 'x', recipients: [{ user: 2, group: 3 }] }, 400, 'invalid_recipient', 'recipients[0]'],
    [{ from: 1, content: 'x', recipients: [{ user: 2.5 }] }, 400, 'invalid_recipient', 'recipients[0].user'],
    [{ from: 1, content: 'x', recipients: [{ group: 0 }] }, 400, 'invalid_recipient', 'recipients[0].group'],
    [{ from: 1, content: 'x', recipients: [{ user: 2, to: 3 }] }, 400, 'invalid_recipient', 'recipients[0].to'],
    [
      { from: 1, recipients: [{ user: 2, content: 'own' }, { user: 3 }] },
      400,
      'invalid_recipient',
      'recipients[1].content',
    ],
    [
      { from: 1, content: 'x', recipients: [{ user: 2, content: 'é'.repeat(1535) }] },
      400,
      'invalid_recipient',
      'recipients[0].content',
    ],
  ];
  const keysBefore = (await batchKeys()).length;
  for (const [body, status, code, field] of cases) {
    const r = await postJson(body);
    assertError(r, status, code, field);
    if (code === 'invalid_recipient') {
      assert.equal(typeof r.body.index, 'number');
      assert.match(r.body.error.message, /skip_invalid=true/);
    }
  }
  assert.equal((await batchKeys()).length, keysBefore, 'a refused upload left keys in Redis');
});

test('a body that is neither JSON nor NDJSON gets 415, a bad skip_invalid 400', async () => {
  assertError(await call('POST', '/v1/batches', 'x', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
  assertError(await postJson({}, '?skip_invalid=yes'), 400, 'invalid_field', 'skip_invalid');
  assertError(
    await call('PUT', '/v1/batches', '{}', { 'content-type': 'application/json' }),
    405,
    'method_not_allowed',
  );
});

test('bad NDJSON uploads name the line, and leave nothing behind', async () => {
  const keysBefore = (await batchKeys()).length;
  const cases: [string | Buffer, string, number | null][] = [
    ['', 'missing_field', null],
    ['\n\n', 'missing_field', null],
    ['{"from": 1, "content": "x"}\n', 'missing_field', null],
    ['not json\n{"user": 2}\n', 'invalid_json', null],
    ['{"user": 2}\n{"user": 3}\n', 'unknown_field', null],
    ['{"from": 1, "content": "x"}\n{"user": 2}\n[3]\n', 'invalid_recipient', 3],
    ['{"from": 1, "content": "x"}\n\n{"user": 2}\n{"user": 1}\n', 'invalid_recipient', 4],
    [`{"from": 1, "content": "x"}\n{"user": 2, "content": "${'y'.repeat(70_000)}"}\n`, 'invalid_recipient', 2],
    [
      Buffer.concat([Buffer.from('{"from": 1, "content": "x"}\n{"user": "'), Buffer.from([0xc3]), Buffer.from('"}\n')]),
      'invalid_recipient',
      2,
    ],
  ];
  for (const [body, code, line] of cases) {
    const r = await postNdjson(body);
    assertError(r, 400, code);
    if (line !== null) {
      assert.equal(r.body.line, line, JSON.stringify(r.body));
      assert.match(r.body.error.message, new RegExp(`^line ${line}: `));
    }
  }
  assert.equal((await batchKeys()).length, keysBefore, 'a refused upload left keys in Redis');
});

test('a line written exactly {"user":N} is checked as any line: line 1, the sender, no content, skip_invalid', async () => {
  const cases: [string, string, number | null][] = [
    ['{"user":2}\n{"user":3}\n', 'unknown_field', null],
    ['{"from":1,"content":"x"}\n{"user":2}\n{"user":1}\n', 'invalid_recipient', 3],
    ['{"from":1}\n{"group":7}\n', 'invalid_recipient', 2],
  ];
  for (const [body, code, line] of cases) {
    const r = await postNdjson(body);
    assertError(r, 400, code);
    if (line !== null) assert.equal(r.body.line, line, JSON.stringify(r.body));
  }
  const text = '{"from":1,"content":"x"}\n{"user":1}\n{"user":2}\n{"group":7}\n{"user":2}\n';
  const r = await postNdjson(text, '?skip_invalid=true', { 'idempotency-key': 'exact-lines' });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.deepEqual([r.body.total, r.body.rejected, r.body.duplicates], [3, 1, 1]);
  const rows = await call('GET', `/v1/batches/${r.body.id}/results`);
  assert.deepEqual(
    rows.body.results.map((x: any) => [x.state, x.recipient, x.line ?? null, x.error?.code ?? null, x.input ?? null]),
    [
      ['queued', { user: 2 }, null, null, null],
      ['queued', { group: 7 }, null, null, null],
      ['rejected', null, 2, 'self_send', '{"user":1}'],
    ],
  );
  // Its Idempotency-Key fingerprint is of the lines as written: the same upload replays, a spaced one is another.
  const again = await postNdjson(text, '?skip_invalid=true', { 'idempotency-key': 'exact-lines' });
  assert.deepEqual([again.status, again.body.id], [202, r.body.id]);
  const spaced = text.replace('{"user":2}', '{"user": 2}');
  assertError(
    await postNdjson(spaced, '?skip_invalid=true', { 'idempotency-key': 'exact-lines' }),
    422,
    'idempotency_key_reused',
  );
});

test('an NDJSON upload may be gzipped, use CRLF and blank lines; other encodings get 415', async () => {
  const text = '{"from": 1, "content": "zipped"}\r\n\r\n{"user": 2}\r\n{"group": 7}\r\n';
  const r = await postNdjson(gzipSync(text), '', { 'content-encoding': 'gzip' });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.equal(r.body.total, 2);
  assertError(await postNdjson(text, '', { 'content-encoding': 'br' }), 415, 'unsupported_media_type');
  const corrupt = gzipSync(text);
  corrupt.writeUInt8(corrupt.readUInt8(corrupt.length - 6) ^ 0xff, corrupt.length - 6);
  assertError(await postNdjson(corrupt, '', { 'content-encoding': 'gzip' }), 400, 'invalid_json');
});

test('a large NDJSON upload fills several chunks; results page through them and on into the rejected inputs', async () => {
  const lines = ['{"from": 1, "content": "many"}'];
  for (let i = 0; i < 2500; i++) lines.push(JSON.stringify({ user: 100_000 + i }));
  lines.push('{"user": "bad"}', '{"user": 100000}', '{"group": -1}');
  const r = await postNdjson(lines.join('\n'), '?skip_invalid=true');
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.equal(r.body.total, 2502);
  assert.equal(r.body.rejected, 2);
  assert.equal(r.body.duplicates, 1);
  const id = r.body.id;

  const seen: any[] = [];
  let cursor: string | null = '';
  let pages = 0;
  while (cursor !== null) {
    const page: Answer = await call('GET', `/v1/batches/${id}/results?limit=700${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(page.status, 200);
    seen.push(...page.body.results);
    cursor = page.body.next_cursor;
    pages++;
  }
  assert.equal(pages, 4);
  assert.equal(seen.length, 2502);
  assert.deepEqual(seen[0], { recipient: { user: 100_000 }, state: 'queued' });
  assert.deepEqual(seen[2499], { recipient: { user: 102_499 }, state: 'queued' });
  assert.deepEqual(
    seen.slice(2500).map((x) => [x.state, x.line, x.error.code]),
    [
      ['rejected', 2502, 'invalid_field'],
      ['rejected', 2504, 'invalid_field'],
    ],
  );
  const rejected = await call('GET', `/v1/batches/${id}/results?state=rejected&limit=1`);
  assert.equal(rejected.body.results.length, 1);
  const next = await call(
    'GET',
    `/v1/batches/${id}/results?state=rejected&limit=1&cursor=${rejected.body.next_cursor}`,
  );
  assert.equal(next.body.results[0].line, 2504);
  assert.equal(next.body.next_cursor, null);

  const exported = await fetch(`${url}/v1/batches/${id}/results?format=ndjson`, {
    headers: { authorization: `Bearer ${KEYS.dev}` },
  });
  assert.equal(exported.status, 200);
  assert.match(exported.headers.get('content-type') ?? '', /^application\/x-ndjson/);
  const exportedRows = (await exported.text()).trim().split('\n');
  assert.equal(exportedRows.length, 2502);
});

test('results refuse a bad state, limit, cursor or format; an unknown batch is 404 everywhere', async () => {
  const r = await postJson({ from: 1, content: 'x', recipients: [{ user: 2 }] });
  const id = r.body.id;
  assertError(await call('GET', `/v1/batches/${id}/results?state=done`), 400, 'invalid_field', 'state');
  assertError(await call('GET', `/v1/batches/${id}/results?limit=0`), 400, 'invalid_field', 'limit');
  assertError(await call('GET', `/v1/batches/${id}/results?limit=1001`), 400, 'invalid_field', 'limit');
  assertError(await call('GET', `/v1/batches/${id}/results?cursor=zzz`), 400, 'invalid_field', 'cursor');
  assertError(await call('GET', `/v1/batches/${id}/results?format=xml`), 400, 'invalid_field', 'format');
  const missing = 'bat_000000000000000000000';
  assertError(await call('GET', `/v1/batches/${missing}`), 404, 'not_found', 'id');
  assertError(await call('GET', `/v1/batches/nonsense`), 404, 'not_found', 'id');
  assertError(await call('GET', `/v1/batches/${missing}/results`), 404, 'not_found', 'id');
  assertError(await call('GET', `/v1/batches/${missing}/results?format=ndjson`), 404, 'not_found', 'id');
  assertError(await call('DELETE', `/v1/batches/${missing}`), 404, 'not_found', 'id');
  assertError(await call('POST', `/v1/batches/${missing}/pause`), 404, 'not_found', 'id');
  assertError(await call('POST', `/v1/batches/${missing}/resume`), 404, 'not_found', 'id');
  assertError(await call('PUT', `/v1/batches/${id}`), 405, 'method_not_allowed');
  assertError(await call('GET', `/v1/batches/${id}/pause`), 405, 'method_not_allowed');
});

test('pause, resume and cancel move the status; what no longer applies is 409', async () => {
  const r = await postJson({ from: 1, content: 'x', recipients: [{ user: 2 }, { user: 3 }] });
  const id = r.body.id;
  const p = await call('POST', `/v1/batches/${id}/pause`);
  assert.equal(p.status, 200);
  assert.equal(p.body.status, 'paused');
  assert.equal((await call('POST', `/v1/batches/${id}/pause`)).body.status, 'paused');
  const q = await call('POST', `/v1/batches/${id}/resume`);
  assert.equal(q.status, 200);
  assert.equal(q.body.status, 'queued');
  assert.equal((await call('POST', `/v1/batches/${id}/resume`)).status, 200);
  const c = await call('DELETE', `/v1/batches/${id}`);
  assert.equal(c.status, 200);
  assert.equal(c.body.status, 'cancelled');
  // No chunk was claimed by a worker: the cancel settled everything at once.
  assert.deepEqual(c.body.counts, { queued: 0, sending: 0, sent: 0, failed: 0, cancelled: 2 });
  assert.ok(c.body.finished_at !== null);
  assert.equal((await call('DELETE', `/v1/batches/${id}`)).status, 200);
  const pause = await call('POST', `/v1/batches/${id}/pause`);
  assertError(pause, 409, 'not_pausable');
  assert.equal(pause.body.batch.status, 'cancelled');
  assertError(await call('POST', `/v1/batches/${id}/resume`), 409, 'not_resumable');
  const rows = await call('GET', `/v1/batches/${id}/results?state=cancelled`);
  assert.equal(rows.body.results.length, 2);
});

test('the same Idempotency-Key answers the first batch without a second one', async () => {
  const body = { from: 1, content: 'once', recipients: [{ user: 2 }] };
  const a = await postJson(body, '', { 'idempotency-key': 'api-batch-1' });
  const b = await postJson(body, '', { 'idempotency-key': 'api-batch-1' });
  assert.equal(a.status, 202);
  assert.equal(b.status, 202);
  assert.equal(b.body.id, a.body.id);
  assert.equal(b.headers.get('idempotent-replayed'), 'true');
  // The same key with another request (here: the same batch as NDJSON, another body) is refused, not replayed.
  const nd = await postNdjson('{"from": 1, "content": "once"}\n{"user": 2}\n', '', {
    'idempotency-key': 'api-batch-1',
  });
  assertError(nd, 422, 'idempotency_key_reused', 'Idempotency-Key');
  assertError(await postJson(body, '', { 'idempotency-key': '' }), 400, 'invalid_field', 'Idempotency-Key');
});

test('a refused streamed upload is answered even while the client is still sending', async () => {
  // The error is on line 2; the client keeps sending 2 MB more before it reads the answer.
  const answer = await new Promise<{ status: number; body: any }>((resolve, reject) => {
    const req = request(`${url}/v1/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${KEYS.dev}` },
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.write('{"from": 1, "content": "x"}\n{"user": "2"}\n');
    const filler = `${JSON.stringify({ user: 3 })}\n`.repeat(10_000);
    let sent = 0;
    const pump = () => {
      while (sent < 20) {
        sent++;
        if (!req.write(filler)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
  assert.equal(answer.status, 400);
  assert.equal(answer.body.error.code, 'invalid_recipient');
  assert.equal(answer.body.line, 2);
});

test('an upload the client cuts off midway is deleted: nothing is queued', async () => {
  const before = (await batchKeys()).length;
  const req = request(`${url}/v1/batches`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${KEYS.dev}` },
  });
  req.on('error', () => undefined);
  req.write('{"from": 1, "content": "cut"}\n');
  for (let i = 0; i < 3500; i++) req.write(`${JSON.stringify({ user: 500_000 + i })}\n`);
  // Let the API read and write the first chunks, then drop the connection.
  const end = Date.now() + 10_000;
  while ((await batchKeys()).length < before + 3) {
    assert.ok(Date.now() < end, 'the upload never started writing chunks');
    await new Promise((r) => setTimeout(r, 20));
  }
  req.destroy();
  for (;;) {
    if ((await batchKeys()).length === before) break;
    assert.ok(Date.now() < end, `the cut upload left ${(await batchKeys()).length - before} keys`);
    await new Promise((r) => setTimeout(r, 20));
  }
});

test('Redis down: an upload is answered 503 at once, and works again when Redis is back', async () => {
  await redisServer.kill();
  try {
    const r = await postJson({ from: 1, content: 'x', recipients: [{ user: 2 }] });
    assertError(r, 503, 'redis_unavailable');
    assertError(await call('GET', '/v1/batches/bat_000000000000000000000'), 503, 'redis_unavailable');
  } finally {
    await redisServer.startProcess();
  }
  const end = Date.now() + 10_000;
  for (;;) {
    const r = await postJson({ from: 1, content: 'x', recipients: [{ user: 2 }] });
    if (r.status === 202) break;
    assert.ok(Date.now() < end, `still ${r.status} after Redis returned`);
    await new Promise((res) => setTimeout(res, 100));
  }
});
