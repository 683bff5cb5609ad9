// Group administration end to end (issue 6): HTTP → the api's own TeamTalk pools → the sandbox's
// db_proxy_server (GROUP_CREATE / GROUP_CHANGE_MEMBER) and route_server (GROUP_CHANGE_MEMBER_NOTIFY),
// then a group message reaching a member who was just added.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, DEV_KEY } from './helpers/harness.ts';
import { listen } from './helpers/listen.ts';
import { rawPost } from './helpers/raw-post.ts';

const GROUP_CHANGE_MEMBER_NOTIFY = 0x040b;

let h: Harness;
/** GROUP_CHANGE_MEMBER_NOTIFY frames the sandbox's route_server received. */
let notifies = 0;

before(async () => {
  // A low reply timeout: a change to an unknown group (dropped by db_proxy_server) is answered quickly.
  h = await Harness.start({ env: { TTPUSH_TEAMTALK_REPLY_TIMEOUT_MS: '600' } });
  h.sandbox.route.on('frame', (commandId: number) => {
    if (commandId === GROUP_CHANGE_MEMBER_NOTIFY) notifies++;
  });
});
after(async () => {
  await h?.stop();
});

async function request(method: string, path: string, body: unknown): Promise<{ status: number; body: any }> {
  const r = await fetch(`${h.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${DEV_KEY}` },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: await r.json() };
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One legacy request on a raw socket; resolves with the reply's bytes as text. */
const legacy = (path: string, body: string) => rawPost(h.apiPort, path, body);

function legacyReply(body: string): string {
  return (
    'HTTP/1.1 200 OK\r\nCache-Control:no-cache\r\nConnection:close\r\n' +
    `Content-Length:${Buffer.byteLength(body)}\r\nContent-Type:text/html;charset=utf-8\r\n\r\n${body}`
  );
}

test('create a group, add a member who then receives a group message, remove them; route_server is notified', async () => {
  const created = await request('POST', '/v1/groups', {
    creator: 1,
    name: '运维 ops',
    type: 'normal',
    members: [1, 2, 2],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const groupId: number = created.body.group_id;
  assert.ok(Number.isInteger(groupId) && groupId >= 1);
  assert.deepEqual(created.body, { group_id: groupId, name: '运维 ops', members: [1, 2] });
  assert.deepEqual(h.sandbox.store.group(groupId)?.members, [1, 2]);
  assert.equal(h.sandbox.store.group(groupId)?.type, 1);

  const before = notifies;
  const added = await request('POST', `/v1/groups/${groupId}/members`, { user: 1, members: [3] });
  assert.equal(added.status, 200, JSON.stringify(added.body));
  assert.deepEqual(added.body, { group_id: groupId, members: [1, 2, 3], changed: [3] });
  await waitFor('the add notify at route_server', () => notifies === before + 1);

  const l = await listen(h.sandbox.msgServer.port, 3);
  try {
    const sent = await h.post('/v1/messages?wait=10', { from: 1, to: { group: groupId }, content: 'welcome 3' });
    assert.equal(sent.status, 200, JSON.stringify(sent.body));
    assert.equal(sent.body.status, 'sent');
    const [got] = await l.waitFor(1);
    assert.equal(got.text, 'welcome 3');
    assert.equal(got.to, groupId);
    assert.equal(got.session_type, 'group');
  } finally {
    await l.stop();
  }

  // No `user`: the administrator (0), which the dev key ("*") may act as.
  const removed = await request('DELETE', `/v1/groups/${groupId}/members`, { members: [3] });
  assert.equal(removed.status, 200, JSON.stringify(removed.body));
  assert.deepEqual(removed.body, { group_id: groupId, members: [1, 2], changed: [3] });
  assert.deepEqual(h.sandbox.store.group(groupId)?.members, [1, 2]);
  await waitFor('the remove notify at route_server', () => notifies === before + 2);
});

test('TeamTalk refusals: empty name → 422, unknown group → 404, a non-creator changing a normal group → 403', async () => {
  const empty = await request('POST', '/v1/groups', { creator: 1, name: '', members: [1, 2] });
  assert.equal(empty.status, 422, JSON.stringify(empty.body));
  assert.equal(empty.body.error.code, 'group_create_failed');

  const unknown = await request('POST', '/v1/groups/999999/members', { members: [3] });
  assert.equal(unknown.status, 404, JSON.stringify(unknown.body));
  assert.equal(unknown.body.error.code, 'group_not_found');
  assert.match(unknown.body.error.message, /does not exist/);

  const g = await request('POST', '/v1/groups', { creator: 1, name: 'normal', type: 'normal', members: [1, 2] });
  assert.equal(g.status, 201);
  const before = notifies;
  const forbidden = await request('POST', `/v1/groups/${g.body.group_id}/members`, { user: 2, members: [4] });
  assert.equal(forbidden.status, 403, JSON.stringify(forbidden.body));
  assert.equal(forbidden.body.error.code, 'group_change_forbidden');
  assert.deepEqual(h.sandbox.store.group(g.body.group_id)?.members, [1, 2]);

  // A temporary group (the default type) lets any member add.
  const tmp = await request('POST', '/v1/groups', { creator: 1, name: 'tmp', members: [1, 2] });
  assert.equal(tmp.status, 201);
  assert.equal(h.sandbox.store.group(tmp.body.group_id)?.type, 2);
  const byMember = await request('POST', `/v1/groups/${tmp.body.group_id}/members`, { user: 2, members: [5] });
  assert.equal(byMember.status, 200, JSON.stringify(byMember.body));
  // Only the successful change was forwarded to route_server.
  await waitFor('one notify', () => notifies === before + 1);
});

test('bad ids and bodies → 400 naming the field, before TeamTalk is asked', async () => {
  const cases: [string, string, unknown, string, string | null][] = [
    ['POST', '/v1/groups', { creator: '1', name: 'x', members: [2] }, 'invalid_field', 'creator'],
    ['POST', '/v1/groups', { creator: 1, name: 'x', members: [] }, 'invalid_field', 'members'],
    ['POST', '/v1/groups', { creator: 1, name: 'x', members: [2, 0] }, 'invalid_field', 'members[1]'],
    ['POST', '/v1/groups', { creator: 1, members: [2] }, 'missing_field', 'name'],
    ['POST', '/v1/groups', { creator: 1, name: 'x', type: 'big', members: [2] }, 'invalid_field', 'type'],
    ['POST', '/v1/groups', { creator: 1, name: 'x', members: [2], owner: 1 }, 'unknown_field', 'owner'],
    ['POST', '/v1/groups/abc/members', { members: [2] }, 'invalid_field', 'group_id'],
    ['POST', '/v1/groups/4294967296/members', { members: [2] }, 'invalid_field', 'group_id'],
    ['DELETE', '/v1/groups/5/members', { user: -1, members: [2] }, 'invalid_field', 'user'],
    ['DELETE', '/v1/groups/5/members', { members: [4294967296] }, 'invalid_field', 'members[0]'],
  ];
  for (const [method, path, body, code, field] of cases) {
    const r = await request(method, path, body);
    assert.equal(r.status, 400, `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error.code, code);
    assert.equal(r.body.error.field, field);
  }
});

test('legacy /query/CreateGroup and /query/ChangeMembers answer the old replies byte for byte', async () => {
  const createRaw = await legacy(
    '/query/CreateGroup',
    JSON.stringify({
      app_key: DEV_KEY,
      req_user_id: 6,
      group_name: '旧群',
      group_type: 1,
      group_avatar: '',
      user_id_list: [6, 7],
    }),
  );
  const m = /"group_id" : (\d+)\n/.exec(createRaw);
  assert.ok(m, createRaw);
  const groupId = Number(m[1]);
  assert.equal(
    createRaw,
    legacyReply(`{\n   "error_code" : 0,\n   "error_msg" : "成功",\n   "group_id" : ${groupId}\n}\n`),
  );
  assert.deepEqual(h.sandbox.store.group(groupId)?.members, [6, 7]);

  const add = await legacy(
    '/query/ChangeMembers',
    JSON.stringify({ app_key: DEV_KEY, req_user_id: 6, group_id: groupId, modify_type: 1, user_id_list: [8] }),
  );
  assert.equal(add, legacyReply('{\n   "error_code" : 0,\n   "error_msg" : "成功"\n}\n'));
  assert.deepEqual(h.sandbox.store.group(groupId)?.members, [6, 7, 8]);

  const e1 = legacyReply('{\n   "error_code" : 1,\n   "error_msg" : "参数错误"\n}\n');
  assert.equal(await legacy('/query/CreateGroup', '{not json'), e1);
  assert.equal(
    await legacy(
      '/query/ChangeMembers',
      JSON.stringify({ app_key: DEV_KEY, req_user_id: 6, group_id: groupId, modify_type: 3, user_id_list: [8] }),
    ),
    e1,
  );
  assert.equal(
    await legacy(
      '/query/CreateGroup',
      JSON.stringify({ app_key: 'not-a-key', req_user_id: 6, group_name: 'x', group_type: 1, user_id_list: [6] }),
    ),
    legacyReply('{\n   "error_code" : 2,\n   "error_msg" : "appKey不存在"\n}\n'),
  );
  assert.equal(
    await legacy(
      '/query/CreateGroup',
      JSON.stringify({ app_key: DEV_KEY, req_user_id: 6, group_name: '', group_type: 1, user_id_list: [6] }),
    ),
    legacyReply('{\n   "error_code" : 11,\n   "error_msg" : "创建群失败"\n}\n'),
  );
  const e12 = legacyReply('{\n   "error_code" : 12,\n   "error_msg" : "更改群成员失败"\n}\n');
  // Refused: user 7 is not the creator of this normal group.
  assert.equal(
    await legacy(
      '/query/ChangeMembers',
      JSON.stringify({ app_key: DEV_KEY, req_user_id: 7, group_id: groupId, modify_type: 2, user_id_list: [8] }),
    ),
    e12,
  );
  // Dropped: TeamTalk never answers a change to an unknown group.
  assert.equal(
    await legacy(
      '/query/ChangeMembers',
      JSON.stringify({ app_key: DEV_KEY, req_user_id: 6, group_id: 999998, modify_type: 1, user_id_list: [8] }),
    ),
    e12,
  );
  assert.deepEqual(h.sandbox.store.group(groupId)?.members, [6, 7, 8]);
});
