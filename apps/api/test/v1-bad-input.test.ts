/**
 * Every bad input on /v1 gets its documented 4xx with {"error": {code, message, field}}, nothing is
 * queued, no answer is a 5xx, and the process keeps serving.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BODY_LIMIT, KEYS, bearer, startTestApp, type TestApp } from './helpers/test-app.ts';

interface Case {
  name: string;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  /** An object is sent as JSON; a string or Buffer as is. */
  body?: unknown;
  status: number;
  code: string;
  field?: string | null;
  /** Extra checks on the message text or headers. */
  check?: (message: string, headers: Headers) => void;
}

const OK = { from: 1001, to: { user: 2001 }, content: 'hello' };
const AUTH = { ...bearer(KEYS.crm), 'content-type': 'application/json' };
// 3 UTF-8 bytes each: 1023 of them are 3069 bytes, one over the default limit of 3068.
const HAN_3069 = '中'.repeat(1023);

const cases: Case[] = [
  // The body as a whole.
  { name: 'malformed JSON', body: '{"from": 1001,', status: 400, code: 'invalid_json', field: null },
  { name: 'JSON with a trailing comma', body: '{"from": 1001,}', status: 400, code: 'invalid_json', field: null },
  { name: 'a JSON array body', body: '[1, 2]', status: 400, code: 'invalid_json', field: null },
  { name: 'a JSON number body', body: '42', status: 400, code: 'invalid_json', field: null },
  { name: 'a JSON null body', body: 'null', status: 400, code: 'invalid_json', field: null },
  { name: 'an empty body', body: '', status: 400, code: 'missing_field', field: 'from' },
  {
    name: 'invalid UTF-8',
    body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
    status: 400,
    code: 'invalid_json',
    field: null,
  },
  {
    name: 'an unknown top-level field',
    body: { ...OK, colour: 'red' },
    status: 400,
    code: 'unknown_field',
    field: 'colour',
  },
  // from
  { name: 'from missing', body: { to: OK.to, content: 'x' }, status: 400, code: 'missing_field', field: 'from' },
  { name: 'from as a string', body: { ...OK, from: '1001' }, status: 400, code: 'invalid_field', field: 'from' },
  { name: 'from 0', body: { ...OK, from: 0 }, status: 400, code: 'invalid_field', field: 'from' },
  { name: 'from negative', body: { ...OK, from: -1 }, status: 400, code: 'invalid_field', field: 'from' },
  { name: 'from over uint32', body: { ...OK, from: 4294967296 }, status: 400, code: 'invalid_field', field: 'from' },
  { name: 'from fractional', body: { ...OK, from: 1001.5 }, status: 400, code: 'invalid_field', field: 'from' },
  { name: 'from null', body: { ...OK, from: null }, status: 400, code: 'invalid_field', field: 'from' },
  { name: 'from true', body: { ...OK, from: true }, status: 400, code: 'invalid_field', field: 'from' },
  // to
  { name: 'to missing', body: { from: 1001, content: 'x' }, status: 400, code: 'missing_field', field: 'to' },
  { name: 'to as a number', body: { ...OK, to: 2001 }, status: 400, code: 'invalid_field', field: 'to' },
  { name: 'to as an array', body: { ...OK, to: [2001] }, status: 400, code: 'invalid_field', field: 'to' },
  { name: 'to empty', body: { ...OK, to: {} }, status: 400, code: 'missing_field', field: 'to' },
  {
    name: 'to with both user and group',
    body: { ...OK, to: { user: 2001, group: 7 } },
    status: 400,
    code: 'invalid_field',
    field: 'to',
  },
  {
    name: 'to with an unknown key',
    body: { ...OK, to: { channel: 3 } },
    status: 400,
    code: 'unknown_field',
    field: 'to.channel',
  },
  {
    name: 'to.user as a string',
    body: { ...OK, to: { user: '2001' } },
    status: 400,
    code: 'invalid_field',
    field: 'to.user',
  },
  { name: 'to.user 0', body: { ...OK, to: { user: 0 } }, status: 400, code: 'invalid_field', field: 'to.user' },
  { name: 'to.user negative', body: { ...OK, to: { user: -7 } }, status: 400, code: 'invalid_field', field: 'to.user' },
  {
    name: 'to.user over uint32',
    body: { ...OK, to: { user: 4294967296 } },
    status: 400,
    code: 'invalid_field',
    field: 'to.user',
  },
  {
    name: 'to.user fractional',
    body: { ...OK, to: { user: 2.5 } },
    status: 400,
    code: 'invalid_field',
    field: 'to.user',
  },
  { name: 'to.group 0', body: { ...OK, to: { group: 0 } }, status: 400, code: 'invalid_field', field: 'to.group' },
  {
    name: 'to.group as a string',
    body: { ...OK, to: { group: '7' } },
    status: 400,
    code: 'invalid_field',
    field: 'to.group',
  },
  // content
  { name: 'content missing', body: { from: 1001, to: OK.to }, status: 400, code: 'missing_field', field: 'content' },
  { name: 'content empty', body: { ...OK, content: '' }, status: 400, code: 'content_empty', field: 'content' },
  {
    name: 'content of 3069 UTF-8 bytes',
    body: { ...OK, content: HAN_3069 },
    status: 400,
    code: 'content_too_long',
    field: 'content',
    check: (m) => assert.ok(m.includes('3069') && m.includes('3068'), m),
  },
  {
    name: 'an object content whose JSON text is over the limit',
    body: { ...OK, content: { text: 'x'.repeat(3060) } },
    status: 400,
    code: 'content_too_long',
    field: 'content',
    check: (m) => assert.ok(m.includes('3071'), m),
  },
  { name: 'content as a number', body: { ...OK, content: 5 }, status: 400, code: 'invalid_field', field: 'content' },
  {
    name: 'content as an array',
    body: { ...OK, content: ['a'] },
    status: 400,
    code: 'invalid_field',
    field: 'content',
  },
  { name: 'content null', body: { ...OK, content: null }, status: 400, code: 'invalid_field', field: 'content' },
  { name: 'content false', body: { ...OK, content: false }, status: 400, code: 'invalid_field', field: 'content' },
  { name: 'a text to oneself', body: { ...OK, to: { user: 1001 } }, status: 400, code: 'self_send', field: 'to.user' },
  // Optional fields.
  {
    name: 'an unknown priority',
    body: { ...OK, priority: 'urgent' },
    status: 400,
    code: 'invalid_field',
    field: 'priority',
  },
  {
    name: 'send_at not RFC 3339',
    body: { ...OK, send_at: 'tomorrow' },
    status: 400,
    code: 'invalid_field',
    field: 'send_at',
  },
  {
    name: 'send_at without an offset',
    body: { ...OK, send_at: '2030-01-01T09:00:00' },
    status: 400,
    code: 'invalid_field',
    field: 'send_at',
  },
  {
    name: 'send_at on February 30',
    body: { ...OK, send_at: '2030-02-30T09:00:00Z' },
    status: 400,
    code: 'invalid_field',
    field: 'send_at',
  },
  {
    name: 'send_at as a number',
    body: { ...OK, send_at: 1700000000 },
    status: 400,
    code: 'invalid_field',
    field: 'send_at',
  },
  {
    name: 'metadata as an array',
    body: { ...OK, metadata: [1] },
    status: 400,
    code: 'invalid_field',
    field: 'metadata',
  },
  {
    name: 'metadata over 4 KB',
    body: { ...OK, metadata: { note: 'x'.repeat(4096) } },
    status: 400,
    code: 'invalid_field',
    field: 'metadata',
  },
  // Query and headers.
  { name: '?wait=0', path: '/v1/messages?wait=0', body: OK, status: 400, code: 'invalid_field', field: 'wait' },
  { name: '?wait=31', path: '/v1/messages?wait=31', body: OK, status: 400, code: 'invalid_field', field: 'wait' },
  { name: '?wait=abc', path: '/v1/messages?wait=abc', body: OK, status: 400, code: 'invalid_field', field: 'wait' },
  {
    name: '?wait given twice',
    path: '/v1/messages?wait=1&wait=2',
    body: OK,
    status: 400,
    code: 'invalid_field',
    field: 'wait',
  },
  {
    name: 'an Idempotency-Key of 201 characters',
    headers: { ...AUTH, 'idempotency-key': 'k'.repeat(201) },
    body: OK,
    status: 400,
    code: 'invalid_field',
    field: 'Idempotency-Key',
  },
  // Media type and size.
  {
    name: 'Content-Type text/plain',
    headers: { ...bearer(KEYS.crm), 'content-type': 'text/plain' },
    body: JSON.stringify(OK),
    status: 415,
    code: 'unsupported_media_type',
    field: null,
  },
  {
    name: 'no Content-Type',
    headers: bearer(KEYS.crm),
    body: JSON.stringify(OK),
    status: 415,
    code: 'unsupported_media_type',
    field: null,
  },
  {
    name: 'a latin1 charset',
    headers: { ...bearer(KEYS.crm), 'content-type': 'application/json; charset=latin1' },
    body: JSON.stringify(OK),
    status: 415,
    code: 'unsupported_media_type',
    field: null,
  },
  {
    name: 'a body over the size limit',
    body: JSON.stringify({ ...OK, content: 'x'.repeat(BODY_LIMIT) }),
    status: 413,
    code: 'body_too_large',
    field: null,
  },
  // Keys.
  {
    name: 'no Authorization header',
    headers: { 'content-type': 'application/json' },
    body: OK,
    status: 401,
    code: 'unauthorized',
    field: null,
    check: (_m, h) => assert.equal(h.get('www-authenticate'), 'Bearer'),
  },
  {
    name: 'an unknown key',
    headers: { ...bearer('not-a-configured-key-123'), 'content-type': 'application/json' },
    body: OK,
    status: 401,
    code: 'unauthorized',
    field: null,
    check: (_m, h) => assert.equal(h.get('www-authenticate'), 'Bearer'),
  },
  {
    name: 'a Basic Authorization header',
    headers: { authorization: `Basic ${KEYS.crm}`, 'content-type': 'application/json' },
    body: OK,
    status: 401,
    code: 'unauthorized',
    field: null,
  },
  {
    name: 'GET /v1/messages/:id without a key',
    method: 'GET',
    path: '/v1/messages/msg_1',
    headers: {},
    status: 401,
    code: 'unauthorized',
    field: null,
  },
  {
    name: 'a sender the key may not use',
    body: { ...OK, from: 3000 },
    status: 403,
    code: 'forbidden_sender',
    field: 'from',
  },
  // Paths and methods.
  {
    name: 'PUT /v1/messages',
    method: 'PUT',
    body: OK,
    status: 405,
    code: 'method_not_allowed',
    field: null,
    check: (_m, h) => assert.equal(h.get('allow'), 'GET, POST, HEAD'),
  },
  {
    name: 'GET /v1/messages with a limit over 500',
    method: 'GET',
    path: '/v1/messages?limit=501',
    status: 400,
    code: 'invalid_field',
    field: 'limit',
  },
  {
    name: 'PATCH /v1/messages/:id',
    method: 'PATCH',
    path: '/v1/messages/msg_1',
    body: OK,
    status: 405,
    code: 'method_not_allowed',
    field: null,
    check: (_m, h) => assert.equal(h.get('allow'), 'GET, DELETE, HEAD'),
  },
  {
    name: 'POST /v1/messages/:id',
    method: 'POST',
    path: '/v1/messages/msg_1',
    body: OK,
    status: 405,
    code: 'method_not_allowed',
    field: null,
  },
  {
    name: 'GET /query/SendSingleMessage',
    method: 'GET',
    path: '/query/SendSingleMessage',
    status: 405,
    code: 'method_not_allowed',
    field: null,
    check: (_m, h) => assert.equal(h.get('allow'), 'POST'),
  },
  {
    name: 'PUT /query/SendGroupMessage',
    method: 'PUT',
    path: '/query/SendGroupMessage',
    body: '{}',
    status: 405,
    code: 'method_not_allowed',
    field: null,
  },
  { name: 'DELETE /healthz', method: 'DELETE', path: '/healthz', status: 405, code: 'method_not_allowed', field: null },
  {
    name: 'POST /metrics',
    method: 'POST',
    path: '/metrics',
    body: '{}',
    status: 405,
    code: 'method_not_allowed',
    field: null,
  },
  { name: 'an unknown path', method: 'GET', path: '/v2/messages', status: 404, code: 'not_found', field: null },
  { name: 'the root path', method: 'GET', path: '/', status: 404, code: 'not_found', field: null },
  {
    name: 'a path under a message id',
    method: 'GET',
    path: '/v1/messages/msg_1/extra',
    status: 404,
    code: 'not_found',
    field: null,
  },
  {
    name: 'an unknown /query path',
    path: '/query/NoSuchEndpoint',
    body: '{}',
    status: 404,
    code: 'not_found',
    field: null,
  },
  {
    name: 'an unknown message id',
    method: 'GET',
    path: '/v1/messages/nope',
    headers: bearer(KEYS.crm),
    status: 404,
    code: 'not_found',
    field: 'id',
  },
  {
    name: 'broken percent-encoding in the path',
    method: 'GET',
    path: '/v1/messages/%E0%A4%A',
    headers: bearer(KEYS.crm),
    status: 400,
    code: 'invalid_field',
    field: null,
  },
];

describe('/v1 bad input', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(async () => {
    await t.close();
  });

  for (const c of cases) {
    it(`${c.name} → ${c.status} ${c.code}`, async () => {
      const body =
        c.body === undefined
          ? undefined
          : typeof c.body === 'string' || Buffer.isBuffer(c.body)
            ? c.body
            : JSON.stringify(c.body);
      const res = await fetch(`${t.url}${c.path ?? '/v1/messages'}`, {
        method: c.method ?? 'POST',
        headers: c.headers ?? AUTH,
        body,
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      assert.equal(res.status, c.status, text);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const json = JSON.parse(text) as { error: { code: string; message: string; field: string | null } };
      assert.deepEqual(Object.keys(json.error), ['code', 'message', 'field']);
      assert.equal(json.error.code, c.code);
      if (c.field !== undefined) assert.equal(json.error.field, c.field);
      assert.ok(json.error.message.length > 10, 'the message is a sentence');
      if (json.error.field !== null && json.error.field !== 'id') {
        assert.ok(
          json.error.message.includes(json.error.field),
          `the message names ${json.error.field}: ${json.error.message}`,
        );
      }
      c.check?.(json.error.message, res.headers);
    });
  }

  it('queued nothing, logged no internal error and still serves', async () => {
    assert.equal(t.service.submitted.length, 0);
    assert.ok(!t.logs.some((l) => l.msg === 'internal error'));
    assert.ok(!t.logs.some((l) => typeof l.status === 'number' && l.status >= 500));
    const res = await fetch(`${t.url}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  it('never writes an app key into the log', () => {
    const text = t.logText();
    for (const key of Object.values(KEYS)) assert.ok(!text.includes(key));
    assert.ok(!text.includes('not-a-configured-key-123'));
  });
});
