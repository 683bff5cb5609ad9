/**
 * Group administration before and without TeamTalk: a key may act only as its listed users (403 /
 * legacy 3), user 0 only with senders "*", and an api with no TeamTalk configured answers 503
 * teamtalk_unavailable (legacy 10). Success and TeamTalk's refusals are covered end to end in
 * test/e2e-groups.test.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JSON_HEADERS, KEYS, bearer, startTestApp, type TestApp } from './helpers/test-app.ts';
import { rawPost } from './helpers/raw-http.ts';

function legacyReply(body: string): string {
  return (
    'HTTP/1.1 200 OK\r\nCache-Control:no-cache\r\nConnection:close\r\n' +
    `Content-Length:${Buffer.byteLength(body)}\r\nContent-Type:text/html;charset=utf-8\r\n\r\n${body}`
  );
}

describe('group administration without TeamTalk', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(async () => {
    await t.close();
  });

  async function call(method: string, path: string, key: string, body: unknown) {
    const r = await fetch(`${t.url}${path}`, {
      method,
      headers: { ...JSON_HEADERS, ...bearer(key) },
      body: JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as { error: { code: string; field: string | null } } };
  }

  it('refuses a creator or acting user outside the key senders with 403 forbidden_sender', async () => {
    const cases: [string, string, unknown, string][] = [
      ['POST', '/v1/groups', { creator: 5, name: 'x', members: [1001] }, 'creator'],
      ['POST', '/v1/groups/7/members', { user: 5, members: [1001] }, 'user'],
      // No user: the administrator, which a key with listed senders may not act as.
      ['DELETE', '/v1/groups/7/members', { members: [1001] }, 'user'],
      ['DELETE', '/v1/groups/7/members', { user: 0, members: [1001] }, 'user'],
    ];
    for (const [method, path, body, field] of cases) {
      const r = await call(method, path, KEYS.crm, body);
      assert.equal(r.status, 403, `${method} ${path} ${JSON.stringify(body)}`);
      assert.equal(r.body.error.code, 'forbidden_sender');
      assert.equal(r.body.error.field, field);
    }
  });

  it('answers an allowed call 503 teamtalk_unavailable when no TeamTalk is configured', async () => {
    for (const [method, path, key, body] of [
      ['POST', '/v1/groups', KEYS.crm, { creator: 1001, name: 'x', members: [1002] }],
      ['POST', '/v1/groups/7/members', KEYS.crm, { user: 1001, members: [1002] }],
      ['DELETE', '/v1/groups/7/members', KEYS.ops, { members: [1002] }],
    ] as const) {
      const r = await call(method, path, key, body);
      assert.equal(r.status, 503, `${method} ${path}`);
      assert.equal(r.body.error.code, 'teamtalk_unavailable');
    }
  });

  it('legacy: a req_user_id outside the key senders → 3; no TeamTalk → 10', async () => {
    const e3 = legacyReply('{\n   "error_code" : 3,\n   "error_msg" : "appKey与用户不匹配"\n}\n');
    const e10 = legacyReply('{\n   "error_code" : 10,\n   "error_msg" : "服务器异常"\n}\n');
    const create = (user: number) =>
      JSON.stringify({
        app_key: KEYS.crm,
        req_user_id: user,
        group_name: 'x',
        group_type: 2,
        group_avatar: '',
        user_id_list: [1002],
      });
    const change = (user: number) =>
      JSON.stringify({ app_key: KEYS.crm, req_user_id: user, group_id: 7, modify_type: 1, user_id_list: [1002] });
    assert.equal((await rawPost(t.port, '/query/CreateGroup', create(5))).toString('utf8'), e3);
    assert.equal((await rawPost(t.port, '/query/ChangeMembers', change(0))).toString('utf8'), e3);
    assert.equal((await rawPost(t.port, '/query/CreateGroup', create(1001))).toString('utf8'), e10);
    assert.equal((await rawPost(t.port, '/query/ChangeMembers', change(1001))).toString('utf8'), e10);
  });

  it('never writes an app key into the log', () => {
    for (const key of Object.values(KEYS)) assert.ok(!t.logText().includes(key));
  });
});
