/**
 * The legacy /query drop-in: the old http_msg_server's reply byte for byte (protocol notes §9), read
 * with a raw socket so the real header lines are seen, for success and for every error case.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BODY_LIMIT, KEYS, startTestApp, type TestApp } from './helpers/test-app.ts';
import { buildRequest, rawExchange, rawPost } from './helpers/raw-http.ts';

// The expected replies, written out by hand (Content-Length counts UTF-8 bytes of the body).
const HEAD = 'HTTP/1.1 200 OK\r\nCache-Control:no-cache\r\nConnection:close\r\n';
const TYPE = 'Content-Type:text/html;charset=utf-8\r\n\r\n';
const REPLY = {
  ok11: `${HEAD}Content-Length:69\r\n${TYPE}{\n   "error_code" : 0,\n   "error_msg" : "成功",\n   "msg_id" : 11\n}\n`,
  okMax: `${HEAD}Content-Length:77\r\n${TYPE}{\n   "error_code" : 0,\n   "error_msg" : "成功",\n   "msg_id" : 4294967295\n}\n`,
  e1: `${HEAD}Content-Length:57\r\n${TYPE}{\n   "error_code" : 1,\n   "error_msg" : "参数错误"\n}\n`,
  e2: `${HEAD}Content-Length:60\r\n${TYPE}{\n   "error_code" : 2,\n   "error_msg" : "appKey不存在"\n}\n`,
  e3: `${HEAD}Content-Length:69\r\n${TYPE}{\n   "error_code" : 3,\n   "error_msg" : "appKey与用户不匹配"\n}\n`,
  e8: `${HEAD}Content-Length:57\r\n${TYPE}{\n   "error_code" : 8,\n   "error_msg" : "未知错误"\n}\n`,
  e10: `${HEAD}Content-Length:61\r\n${TYPE}{\n   "error_code" : 10,\n   "error_msg" : "服务器异常"\n}\n`,
};

const SINGLE = '/query/SendSingleMessage';
const GROUP = '/query/SendGroupMessage';
const OK_BODY = { app_key: KEYS.crm, req_user_id: 1001, from_user_id: 1001, session_id: 2001, msg: 'hello' };

interface BadCase {
  name: string;
  path?: string;
  body: unknown;
  headers?: Record<string, string>;
  reply: keyof typeof REPLY;
}

const badCases: BadCase[] = [
  { name: 'malformed JSON', body: '{"app_key": ', reply: 'e1' },
  { name: 'an empty body', body: '', reply: 'e1' },
  { name: 'a JSON array', body: '[1]', reply: 'e1' },
  { name: 'invalid UTF-8', body: Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]), reply: 'e1' },
  {
    name: 'a body over the size limit',
    body: JSON.stringify({ ...OK_BODY, msg: 'x'.repeat(BODY_LIMIT) }),
    reply: 'e1',
  },
  { name: 'app_key missing', body: { ...OK_BODY, app_key: undefined }, reply: 'e2' },
  { name: 'an unknown app_key', body: { ...OK_BODY, app_key: 'no-such-key-000000' }, reply: 'e2' },
  { name: 'app_key as a number', body: { ...OK_BODY, app_key: 12345 }, reply: 'e2' },
  { name: 'from_user_id missing', body: { ...OK_BODY, from_user_id: undefined }, reply: 'e1' },
  { name: 'from_user_id 0', body: { ...OK_BODY, from_user_id: 0 }, reply: 'e1' },
  { name: 'from_user_id negative', body: { ...OK_BODY, from_user_id: -1 }, reply: 'e1' },
  { name: 'from_user_id over uint32', body: { ...OK_BODY, from_user_id: 4294967296 }, reply: 'e1' },
  { name: 'from_user_id fractional', body: { ...OK_BODY, from_user_id: 1001.5 }, reply: 'e1' },
  { name: 'from_user_id as a string', body: { ...OK_BODY, from_user_id: '1001' }, reply: 'e1' },
  { name: 'session_id missing', body: { ...OK_BODY, session_id: undefined }, reply: 'e1' },
  { name: 'session_id 0', body: { ...OK_BODY, session_id: 0 }, reply: 'e1' },
  { name: 'session_id as a string', body: { ...OK_BODY, session_id: '2001' }, reply: 'e1' },
  { name: 'group session_id over uint32', path: GROUP, body: { ...OK_BODY, session_id: 4294967296 }, reply: 'e1' },
  { name: 'msg missing', body: { ...OK_BODY, msg: undefined }, reply: 'e1' },
  { name: 'msg empty', body: { ...OK_BODY, msg: '' }, reply: 'e1' },
  { name: 'msg of 3069 UTF-8 bytes', body: { ...OK_BODY, msg: '中'.repeat(1023) }, reply: 'e1' },
  { name: 'msg as a number', body: { ...OK_BODY, msg: 5 }, reply: 'e1' },
  { name: 'msg as an array', body: { ...OK_BODY, msg: ['a'] }, reply: 'e1' },
  { name: 'msg null', body: { ...OK_BODY, msg: null }, reply: 'e1' },
  { name: 'a single text to oneself', body: { ...OK_BODY, session_id: 1001 }, reply: 'e1' },
  { name: 'a sender the key may not use', body: { ...OK_BODY, from_user_id: 3000 }, reply: 'e3' },
  {
    name: 'a group sender the key may not use',
    path: GROUP,
    body: { ...OK_BODY, from_user_id: 3000, session_id: 7 },
    reply: 'e3',
  },
];

function encode(body: unknown): string | Buffer {
  return typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
}

describe('legacy /query', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ legacyWaitMs: 300 });
  });
  after(async () => {
    await t.close();
  });
  beforeEach(() => {
    t.service.plan = { kind: 'sent', msgId: 11, afterMs: 20 };
    t.service.redisDown = false;
  });

  for (const c of badCases) {
    it(`${c.name} → ${c.reply}`, async () => {
      const before = t.service.submitted.length;
      const bytes = await rawPost(t.port, c.path ?? SINGLE, encode(c.body), c.headers);
      assert.equal(bytes.toString('utf8'), REPLY[c.reply]);
      assert.equal(t.service.submitted.length, before, 'nothing queued');
    });
  }

  it('SendSingleMessage answers the old success reply byte for byte once the message is sent, and closes', async () => {
    // No "Connection: close" in the request: the server closes by itself, as the old one did.
    const bytes = await rawPost(t.port, SINGLE, JSON.stringify(OK_BODY));
    assert.equal(bytes.toString('utf8'), REPLY.ok11);
    const req = t.service.submitted.at(-1)!;
    assert.deepEqual(
      { app: req.app, from: req.from, to: req.to, text: req.text, priority: req.priority, notify: req.notify },
      { app: 'crm', from: 1001, to: { user: 2001 }, text: 'hello', priority: 'high', notify: true },
    );
  });

  it('SendGroupMessage sends to the group, an object msg as its JSON text, 3068 bytes accepted', async () => {
    t.service.plan = { kind: 'sent', msgId: 4294967295, afterMs: 0 };
    const msg = { text: '中'.repeat(1015), n: 1 }; // {"text":"…","n":1}: 3045 + 17 = 3062 bytes
    const bytes = await rawPost(t.port, GROUP, JSON.stringify({ ...OK_BODY, session_id: 1001, msg }));
    assert.equal(bytes.toString('utf8'), REPLY.okMax);
    const req = t.service.submitted.at(-1)!;
    assert.deepEqual(req.to, { group: 1001 });
    assert.equal(req.text, JSON.stringify(msg));
    const exact = '中'.repeat(1022) + 'ab';
    t.service.plan = { kind: 'sent', msgId: 11, afterMs: 0 };
    assert.equal(
      (await rawPost(t.port, GROUP, JSON.stringify({ ...OK_BODY, session_id: 7, msg: exact }))).toString('utf8'),
      REPLY.ok11,
    );
    assert.equal(t.service.submitted.at(-1)!.text, exact);
  });

  it('takes a JSON body whatever its Content-Type, as the old server did', async () => {
    const bytes = await rawPost(t.port, SINGLE, JSON.stringify(OK_BODY), {
      'content-type': 'application/x-www-form-urlencoded',
    });
    assert.equal(bytes.toString('utf8'), REPLY.ok11);
  });

  it('the development key may send as anyone; req_user_id is ignored', async () => {
    const bytes = await rawPost(
      t.port,
      SINGLE,
      JSON.stringify({ app_key: KEYS.dev, req_user_id: 'junk', from_user_id: 99, session_id: 100, msg: 'x' }),
    );
    assert.equal(bytes.toString('utf8'), REPLY.ok11);
  });

  for (const [code, reply] of [
    ['teamtalk_no_reply', 'e8'],
    ['teamtalk_rejected', 'e8'],
    ['not_stored', 'e8'],
    ['teamtalk_unavailable', 'e10'],
  ] as const) {
    it(`a message that fails with ${code} → ${reply}`, async () => {
      t.service.plan = { kind: 'failed', code, afterMs: 10 };
      const bytes = await rawPost(t.port, GROUP, JSON.stringify({ ...OK_BODY, session_id: 7 }));
      assert.equal(bytes.toString('utf8'), REPLY[reply]);
    });
  }

  it('not stored within legacyWaitMs → 10, and the message is cancelled', async () => {
    t.service.plan = { kind: 'hold' };
    const bytes = await rawPost(t.port, SINGLE, JSON.stringify(OK_BODY));
    assert.equal(bytes.toString('utf8'), REPLY.e10);
    const id = t.service.cancelCalls.at(-1)!;
    assert.equal(t.service.view(id)?.status, 'cancelled');
  });

  it('still sending when the wait runs out → 10 (it cannot be taken back)', async () => {
    t.service.plan = { kind: 'sending' };
    const bytes = await rawPost(t.port, SINGLE, JSON.stringify(OK_BODY));
    assert.equal(bytes.toString('utf8'), REPLY.e10);
  });

  it('Redis down → 10 at once, and success again once it is back', async () => {
    t.service.redisDown = true;
    assert.equal((await rawPost(t.port, SINGLE, JSON.stringify(OK_BODY))).toString('utf8'), REPLY.e10);
    t.service.redisDown = false;
    assert.equal((await rawPost(t.port, SINGLE, JSON.stringify(OK_BODY))).toString('utf8'), REPLY.ok11);
  });

  it('wrong method and unknown /query path get JSON 405 and 404, not the legacy reply', async () => {
    const get = await fetch(`${t.url}${SINGLE}`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    assert.equal(((await get.json()) as { error: { code: string } }).error.code, 'method_not_allowed');
    const unknown = await fetch(`${t.url}/query/NoSuchEndpoint`, { method: 'POST', body: '{}' });
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, 'not_found');
  });

  it('a raw request with no body at all → 1', async () => {
    const bytes = await rawExchange(t.port, buildRequest({ path: SINGLE, headers: { connection: 'close' } }));
    assert.equal(bytes.toString('utf8'), REPLY.e1);
  });

  it('never writes an app key into the log, logs each request with the app name, and keeps serving', async () => {
    const text = t.logText();
    for (const key of Object.values(KEYS)) assert.ok(!text.includes(key));
    assert.ok(!text.includes('no-such-key-000000'));
    assert.ok(t.logs.some((l) => l.msg === 'request' && l.path === SINGLE && l.app === 'crm' && l.status === 200));
    assert.ok(!t.logs.some((l) => l.msg === 'internal error'));
    assert.equal((await fetch(`${t.url}/healthz`)).status, 200);
  });

  it('group_id on SendGroupMessage answers the old error 1 bytes, and the log names session_id and the fix', async () => {
    const body = { app_key: KEYS.crm, from_user_id: 1001, group_id: 7, msg: 'hello' };
    const bytes = await rawPost(t.port, GROUP, JSON.stringify(body), { 'x-request-id': 'legacy-group-id-1' });
    assert.equal(bytes.toString('utf8'), REPLY.e1);
    const line = t.logs.find((l) => l.reqId === 'legacy-group-id-1' && l.error_code === 1);
    assert.ok(line, 'a log line for the error 1');
    assert.equal(line.level, 30, 'logged at info, seen at the default level');
    assert.equal(line.endpoint, GROUP);
    assert.equal(line.field, 'session_id');
    assert.match(String(line.reason), /^session_id is missing/);
    assert.match(
      String(line.reason),
      /group_id is not a field of \/query\/SendGroupMessage: give the value as session_id/,
    );
    assert.match(String(line.msg), /session_id/);
    assert.ok(!t.logText().includes(KEYS.crm), 'the app key is not logged');
  });

  it('every other error 1 is logged with its field too: a bad value, a self-send, a body that is not JSON', async () => {
    const cases: [string, string | Buffer, string | null, RegExp][] = [
      ['l-1', JSON.stringify({ ...OK_BODY, from_user_id: '1001' }), 'from_user_id', /without quotes/],
      ['l-2', JSON.stringify({ ...OK_BODY, session_id: 1001 }), 'session_id', /session_id/],
      ['l-3', JSON.stringify({ ...OK_BODY, msg: undefined, content: 'hi' }), 'msg', /content is not a field/],
      ['l-4', '{"app_key": ', null, /not a JSON object/],
      ['l-5', JSON.stringify({ ...OK_BODY, msg: 'x'.repeat(BODY_LIMIT) }), null, /./],
    ];
    for (const [id, body, field, reason] of cases) {
      assert.equal((await rawPost(t.port, SINGLE, body, { 'x-request-id': id })).toString('utf8'), REPLY.e1, id);
      const line = t.logs.find((l) => l.reqId === id && l.error_code === 1);
      assert.ok(line, `a log line for ${id}`);
      assert.equal(line.field, field, id);
      assert.match(String(line.reason), reason, id);
    }
  });

  it('CreateGroup and ChangeMembers log their error 1 with the field as well', async () => {
    const create = { app_key: KEYS.crm, req_user_id: 1001, name: 'ops', user_id_list: [1001, 2001] };
    assert.equal(
      (await rawPost(t.port, '/query/CreateGroup', JSON.stringify(create), { 'x-request-id': 'g-1' })).toString('utf8'),
      REPLY.e1,
    );
    const change = { app_key: KEYS.crm, req_user_id: 1001, group_id: 7, modify_type: 3, user_id_list: [2001] };
    assert.equal(
      (await rawPost(t.port, '/query/ChangeMembers', JSON.stringify(change), { 'x-request-id': 'g-2' })).toString(
        'utf8',
      ),
      REPLY.e1,
    );
    const one = t.logs.find((l) => l.reqId === 'g-1' && l.error_code === 1);
    assert.equal(one?.field, 'group_name');
    assert.match(String(one?.reason), /name is not a field of \/query\/CreateGroup: give the value as group_name/);
    const two = t.logs.find((l) => l.reqId === 'g-2' && l.error_code === 1);
    assert.equal(two?.field, 'modify_type');
    assert.match(String(two?.reason), /modify_type must be 1 \(add\) or 2 \(del\)/);
  });
});
