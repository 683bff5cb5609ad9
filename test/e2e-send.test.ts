// The send path end to end: HTTP → Redis → worker → sandbox TeamTalk → a logged-in user's connection.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, DEV_KEY } from './helpers/harness.ts';
import { listen } from './helpers/listen.ts';
import { rawPost } from './helpers/raw-post.ts';

let h: Harness;
before(async () => {
  h = await Harness.start({
    sandbox: { groups: { '700': [1, 2, 3] } },
    env: { TTPUSH_TEAMTALK_REPLY_TIMEOUT_MS: '600' },
  });
});
after(async () => {
  await h?.stop();
});

test('a single message arrives decrypted at the recipient and its status shows the msg_id', async () => {
  const l = await listen(h.sandbox.msgServer.port, 2);
  try {
    const text = '你好, TeamTalk 🚀 single';
    const r = await h.post('/v1/messages?wait=10', { from: 1, to: { user: 2 }, content: text });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.status, 'sent');
    assert.ok(r.body.msg_id >= 1);
    const [got] = await l.waitFor(1);
    assert.equal(got.text, text);
    assert.equal(got.from, 1);
    assert.equal(got.to, 2);
    assert.equal(got.session_type, 'single');
    assert.equal(got.msg_id, r.body.msg_id);
    const stored = h.sandbox.store.singleMessages(1, 2);
    assert.equal(stored.at(-1)!.msgId, r.body.msg_id);
  } finally {
    await l.stop();
  }
});

test('a group message (object content) arrives at an online member', async () => {
  const l = await listen(h.sandbox.msgServer.port, 3);
  try {
    const content = { type: 'alert', text: '磁盘 91% 😱' };
    const r = await h.post('/v1/messages?wait=10', { from: 1, to: { group: 700 }, content });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.status, 'sent');
    const [got] = await l.waitFor(1);
    assert.equal(got.text, JSON.stringify(content));
    assert.equal(got.session_type, 'group');
    assert.equal(got.to, 700);
    assert.equal(got.msg_id, r.body.msg_id);
  } finally {
    await l.stop();
  }
});

const legacy = (path: string, body: string) => rawPost(h.apiPort, path, body);

test('the legacy /query/SendSingleMessage answers the old reply with the msg_id, and the message arrives', async () => {
  const l = await listen(h.sandbox.msgServer.port, 5);
  try {
    const raw = await legacy(
      '/query/SendSingleMessage',
      JSON.stringify({ app_key: DEV_KEY, req_user_id: 4, from_user_id: 4, session_id: 5, msg: '旧接口 legacy ✓' }),
    );
    const [head, body] = raw.split('\r\n\r\n');
    assert.match(head!, /^HTTP\/1\.1 200/);
    assert.match(head!, /\r\nContent-Type:text\/html;charset=utf-8/);
    const [got] = await l.waitFor(1);
    assert.equal(body, `{\n   "error_code" : 0,\n   "error_msg" : "成功",\n   "msg_id" : ${got.msg_id}\n}\n`);
    assert.equal(got.text, '旧接口 legacy ✓');
  } finally {
    await l.stop();
  }
});

test('the legacy /query/SendGroupMessage answers 8 when TeamTalk drops the message (sender not a member)', async () => {
  const raw = await legacy(
    '/query/SendGroupMessage',
    JSON.stringify({ app_key: DEV_KEY, from_user_id: 9, session_id: 700, msg: 'not a member' }),
  );
  const body = raw.split('\r\n\r\n')[1];
  assert.equal(body, '{\n   "error_code" : 8,\n   "error_msg" : "未知错误"\n}\n');
});

test('unknown group and non-member fail visibly with their cause, the process stays up', async () => {
  for (const [req, code] of [
    [{ from: 1, to: { group: 999999 }, content: 'unknown group' }, 'group_not_found'],
    [{ from: 42, to: { group: 700 }, content: 'not a member' }, 'not_a_member'],
  ] as const) {
    const r = await h.post('/v1/messages?wait=15', req);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.status, 'failed');
    assert.equal(r.body.error.code, code);
    assert.match(r.body.error.message, /group/);
  }
  const ok = await h.post('/v1/messages?wait=10', { from: 1, to: { user: 2 }, content: 'still serving' });
  assert.equal(ok.body.status, 'sent');
});

test('a cancelled scheduled message is never sent; a due one is', async () => {
  const later = new Date(Date.now() + 60_000).toISOString();
  const a = await h.post('/v1/messages', { from: 1, to: { user: 8 }, content: 'later', send_at: later });
  assert.equal(a.status, 202);
  assert.equal(a.body.status, 'scheduled');
  const del = await fetch(`${h.url}/v1/messages/${a.body.id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${DEV_KEY}` },
  });
  assert.equal(del.status, 200);
  assert.equal(((await del.json()) as any).status, 'cancelled');
  const soon = new Date(Date.now() + 1500).toISOString();
  const b = await h.post('/v1/messages', { from: 1, to: { user: 8 }, content: 'soon', send_at: soon });
  const views = await h.waitTerminal([b.body.id], 20_000);
  assert.equal(views.get(b.body.id).status, 'sent');
  assert.deepEqual(
    h.sandbox.store.singleMessages(1, 8).map((m: any) => m.msgId),
    [views.get(b.body.id).msg_id],
  );
});

test('the same Idempotency-Key sends once', async () => {
  const body = { from: 1, to: { user: 11 }, content: 'once' };
  const a = await h.post('/v1/messages', body, { 'idempotency-key': 'k-1' });
  const b = await h.post('/v1/messages', body, { 'idempotency-key': 'k-1' });
  assert.equal(a.body.id, b.body.id);
  await h.waitTerminal([a.body.id]);
  assert.equal(h.sandbox.store.singleMessages(1, 11).length, 1);
});

test('a repeat with the same Idempotency-Key that waits is woken by the outcome of the first send', async () => {
  const body = {
    from: 1,
    to: { user: 12 },
    content: 'scheduled once',
    send_at: new Date(Date.now() + 2000).toISOString(),
  };
  const a = await h.post('/v1/messages', body, { 'idempotency-key': 'k-wait' });
  assert.equal(a.body.status, 'scheduled');
  const t0 = Date.now();
  const b = await h.post('/v1/messages?wait=30', body, { 'idempotency-key': 'k-wait' });
  assert.equal(b.status, 200, JSON.stringify(b.body));
  assert.equal(b.body.id, a.body.id);
  assert.equal(b.body.status, 'sent');
  // Woken when the message was sent (about 2 s), not at the end of the 30 s wait.
  assert.ok(Date.now() - t0 < 20_000, `answered after ${Date.now() - t0} ms`);
  assert.equal(h.sandbox.store.singleMessages(1, 12).length, 1);
});
