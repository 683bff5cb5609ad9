/** POST /v1/messages, GET and DELETE /v1/messages/:id over real HTTP, against the in-memory service. */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MessageView } from '@ttpush/contract';
import { KEYS, bearer, startTestApp, type TestApp } from './helpers/test-app.ts';

const HEADERS = { ...bearer(KEYS.crm), 'content-type': 'application/json' };

async function post(t: TestApp, body: unknown, opts: { query?: string; headers?: Record<string, string> } = {}) {
  const res = await fetch(`${t.url}/v1/messages${opts.query ?? ''}`, {
    method: 'POST',
    headers: { ...HEADERS, ...opts.headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(40_000),
  });
  return { res, json: (await res.json()) as Record<string, unknown> };
}

describe('/v1/messages', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(async () => {
    await t.close();
  });
  beforeEach(() => {
    t.service.plan = { kind: 'hold' };
    t.service.redisDown = false;
    t.service.submitBug = undefined;
    t.service.afterSubmit = undefined;
  });

  it('accepts a single text with 202, the queued view and its Location', async () => {
    const { res, json } = await post(t, { from: 1001, to: { user: 2001 }, content: '你好 👋' });
    assert.equal(res.status, 202);
    assert.equal(json.status, 'queued');
    assert.equal(typeof json.id, 'string');
    assert.equal(res.headers.get('location'), `/v1/messages/${json.id as string}`);
    assert.equal(res.headers.get('idempotent-replayed'), null);
    const req = t.service.submitted.at(-1)!;
    assert.deepEqual(
      { app: req.app, from: req.from, to: req.to, text: req.text, priority: req.priority, notify: req.notify },
      { app: 'crm', from: 1001, to: { user: 2001 }, text: '你好 👋', priority: 'normal', notify: undefined },
    );
  });

  it('sends an object content as its compact JSON text, with priority, send_at and metadata', async () => {
    const sendAt = '2099-01-31T17:30:00+08:00';
    const { res, json } = await post(t, {
      from: 1002,
      to: { group: 77 },
      content: { type: 'card', title: '标题' },
      priority: 'low',
      send_at: sendAt,
      metadata: { order: 'A-17', tags: ['x'] },
    });
    assert.equal(res.status, 202);
    assert.equal(json.status, 'scheduled');
    assert.deepEqual(json.metadata, { order: 'A-17', tags: ['x'] });
    const req = t.service.submitted.at(-1)!;
    assert.equal(req.text, '{"type":"card","title":"标题"}');
    assert.deepEqual(req.to, { group: 77 });
    assert.equal(req.priority, 'low');
    assert.equal(req.sendAt, Date.parse(sendAt));
  });

  it('accepts a content of exactly 3068 UTF-8 bytes', async () => {
    // 1022 three-byte characters and two one-byte ones: 3068 bytes in 1024 characters.
    const content = '中'.repeat(1022) + 'ab';
    const { res } = await post(t, { from: 1001, to: { user: 2001 }, content });
    assert.equal(res.status, 202);
    assert.equal(t.service.submitted.at(-1)!.text, content);
  });

  it('lets a key with "*" senders and the development key send as anyone', async () => {
    for (const key of [KEYS.ops, KEYS.dev]) {
      const { res } = await post(t, { from: 424242, to: { user: 1 }, content: 'x' }, { headers: bearer(key) });
      assert.equal(res.status, 202);
    }
    assert.deepEqual(
      t.service.submitted.slice(-2).map((r) => r.app),
      ['ops', 'dev'],
    );
  });

  it('replays a repeated Idempotency-Key: the first message, 202, Idempotent-Replayed: true, nothing queued again', async () => {
    const headers = { 'idempotency-key': 'order-17-notice' };
    const first = await post(t, { from: 1001, to: { user: 2001 }, content: 'once' }, { headers });
    const count = t.service.submitted.length;
    const again = await post(t, { from: 1001, to: { user: 2001 }, content: 'once' }, { headers });
    assert.equal(first.res.status, 202);
    assert.equal(again.res.status, 202);
    assert.equal(again.res.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.json.id, first.json.id);
    assert.equal(t.service.submitted.length, count);
    assert.equal(t.service.submitted.at(-1)!.idempotencyKey, 'order-17-notice');
  });

  it('?wait answers 200 with the terminal view when the message is sent in time', async () => {
    t.service.plan = { kind: 'sent', msgId: 41, afterMs: 30 };
    const { res, json } = await post(
      t,
      { from: 1001, to: { user: 2001 }, content: 'wait for me' },
      { query: '?wait=5' },
    );
    assert.equal(res.status, 200);
    assert.equal(json.status, 'sent');
    assert.equal(json.msg_id, 41);
    assert.equal(t.service.submitted.at(-1)!.notify, true);
  });

  it('?wait answers 200 with a failed view and its error code', async () => {
    t.service.plan = { kind: 'failed', code: 'teamtalk_no_reply', afterMs: 10 };
    const { res, json } = await post(t, { from: 1001, to: { group: 5 }, content: 'x' }, { query: '?wait=5' });
    assert.equal(res.status, 200);
    assert.equal(json.status, 'failed');
    assert.equal((json.error as { code: string }).code, 'teamtalk_no_reply');
  });

  it('?wait answers 202 with the current view when the wait runs out', async () => {
    const { res, json } = await post(t, { from: 1001, to: { user: 2001 }, content: 'slow' }, { query: '?wait=0.2' });
    assert.equal(res.status, 202);
    assert.equal(json.status, 'queued');
  });

  it('GET answers the view, and 404 not_found for an unknown id', async () => {
    t.service.plan = { kind: 'sent', msgId: 9, afterMs: 0 };
    const { json } = await post(t, { from: 1001, to: { user: 2001 }, content: 'x' }, { query: '?wait=5' });
    const res = await fetch(`${t.url}/v1/messages/${json.id as string}`, { headers: bearer(KEYS.crm) });
    assert.equal(res.status, 200);
    const view = (await res.json()) as MessageView;
    assert.equal(view.status, 'sent');
    assert.equal(view.msg_id, 9);
    const missing = await fetch(`${t.url}/v1/messages/msg_999999`, { headers: bearer(KEYS.crm) });
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'not_found');
  });

  it('DELETE cancels a queued message (200), then answers 409 not_cancellable with the view, and 404 for an unknown id', async () => {
    const { json } = await post(t, { from: 1001, to: { user: 2001 }, content: 'cancel me' });
    const url = `${t.url}/v1/messages/${json.id as string}`;
    const first = await fetch(url, { method: 'DELETE', headers: bearer(KEYS.crm) });
    assert.equal(first.status, 200);
    assert.equal(((await first.json()) as MessageView).status, 'cancelled');
    const second = await fetch(url, { method: 'DELETE', headers: bearer(KEYS.crm) });
    assert.equal(second.status, 409);
    const body = (await second.json()) as { error: { code: string; field: null }; message: MessageView };
    assert.equal(body.error.code, 'not_cancellable');
    assert.equal(body.message.status, 'cancelled');
    assert.equal(body.message.id, json.id);
    const missing = await fetch(`${t.url}/v1/messages/msg_999999`, { method: 'DELETE', headers: bearer(KEYS.crm) });
    assert.equal(missing.status, 404);
  });

  it('DELETE of a message already sending answers 409 with the sending view', async () => {
    t.service.plan = { kind: 'sending' };
    const { json } = await post(t, { from: 1001, to: { user: 2001 }, content: 'in flight' });
    const res = await fetch(`${t.url}/v1/messages/${json.id as string}`, {
      method: 'DELETE',
      headers: bearer(KEYS.crm),
    });
    assert.equal(res.status, 409);
    assert.equal(((await res.json()) as { message: MessageView }).message.status, 'sending');
  });

  it('answers 503 redis_unavailable at once while Redis is down, and recovers when it returns', async () => {
    t.service.redisDown = true;
    const down = await post(t, { from: 1001, to: { user: 2001 }, content: 'x' });
    assert.equal(down.res.status, 503);
    assert.equal((down.json.error as { code: string }).code, 'redis_unavailable');
    assert.equal(down.res.headers.get('retry-after'), '1');
    const get = await fetch(`${t.url}/v1/messages/msg_1`, { headers: bearer(KEYS.crm) });
    assert.equal(get.status, 503);
    const del = await fetch(`${t.url}/v1/messages/msg_1`, { method: 'DELETE', headers: bearer(KEYS.crm) });
    assert.equal(del.status, 503);
    t.service.redisDown = false;
    const up = await post(t, { from: 1001, to: { user: 2001 }, content: 'x' });
    assert.equal(up.res.status, 202);
  });

  it('?wait answers 202 (not 503) when Redis goes down after the message was accepted', async () => {
    t.service.afterSubmit = () => {
      t.service.redisDown = true;
    };
    const { res, json } = await post(t, { from: 1001, to: { user: 2001 }, content: 'accepted' }, { query: '?wait=5' });
    assert.equal(res.status, 202);
    assert.equal(json.status, 'queued');
  });

  it('a bug answers 500 internal_error with the request id and no detail, logged with that id', async () => {
    t.service.submitBug = new Error('secret internal detail');
    const { res, json } = await post(t, { from: 1001, to: { user: 2001 }, content: 'x' });
    assert.equal(res.status, 500);
    const err = json.error as { code: string; message: string };
    assert.equal(err.code, 'internal_error');
    assert.ok(!err.message.includes('secret internal detail'));
    const requestId = res.headers.get('x-request-id')!;
    assert.ok(err.message.includes(requestId));
    const line = t.logs.find((l) => l.msg === 'internal error' && l.reqId === requestId);
    assert.ok(line, 'the bug is logged with the request id');
  });

  it('echoes a sane X-Request-Id, replaces an unsafe one, and logs one line per request with the app name', async () => {
    const mine = await post(
      t,
      { from: 1001, to: { user: 2001 }, content: 'x' },
      { headers: { 'x-request-id': 'caller-id-42' } },
    );
    assert.equal(mine.res.headers.get('x-request-id'), 'caller-id-42');
    const unsafe = await post(
      t,
      { from: 1001, to: { user: 2001 }, content: 'x' },
      { headers: { 'x-request-id': 'a b"c' } },
    );
    const replaced = unsafe.res.headers.get('x-request-id')!;
    assert.notEqual(replaced, 'a b"c');
    assert.match(replaced, /^[0-9a-f-]{36}$/);
    const lines = t.logs.filter((l) => l.msg === 'request' && l.reqId === 'caller-id-42');
    assert.equal(lines.length, 1);
    assert.deepEqual(
      { method: lines[0]!.method, path: lines[0]!.path, status: lines[0]!.status, app: lines[0]!.app },
      { method: 'POST', path: '/v1/messages', status: 202, app: 'crm' },
    );
    assert.equal(typeof lines[0]!.ms, 'number');
    const text = t.logText();
    for (const key of Object.values(KEYS)) assert.ok(!text.includes(key), 'no app key in the log');
  });
});
