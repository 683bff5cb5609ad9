// ttpush on a Redis Cluster (issue 5): two api and two worker processes against a local three-master cluster
// and the sandbox TeamTalk. Messages to many conversations, ?wait, idempotency, scheduling, cancel and a batch
// all work, and the keys and the BullMQ queues are spread over the masters.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { untilEndpointKnown } from './helpers/webhooks.ts';
import { Harness, DEV_KEY } from './helpers/harness.ts';
import { assertExactlyOnce, sendAll, type Planned } from './helpers/send-many.ts';
import { rawPost } from './helpers/raw-post.ts';
import { finished, ndjsonLines, uploadNdjson, users, waitBatch, decrypt } from './helpers/batches.ts';

let h: Harness;
let secondApi: string;
const ADMIN_KEY = 'cluster-admin-key-0123456789';

before(async () => {
  h = await Harness.start({
    cluster: true,
    workers: 2,
    sandbox: { groups: { '700': [1, 2, 3] } },
    env: { TTPUSH_ADMIN_KEY: ADMIN_KEY, TTPUSH_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32' },
  });
  secondApi = await h.startExtraApi();
});
after(async () => {
  await h?.stop();
});

/** Every key of one master whose name matches `pattern` (SCAN: a master holds only its own slots' keys). */
async function keysOn(port: number, pattern: string): Promise<string[]> {
  const r = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 });
  try {
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      out.push(...keys);
      cursor = next;
    } while (cursor !== '0');
    return out;
  } finally {
    r.disconnect();
  }
}

test('single messages to 200 conversations through two apis: each stored exactly once, all sent, GET finds each', async () => {
  // Each conversation's first message through the first api, then its second through the other api process
  // (same Redis Cluster, same queues): acceptance order is #0 then #1 in every conversation.
  const plan: Planned[] = [];
  for (let i = 0; i < 2; i++) {
    for (let c = 0; c < 200; c++) plan.push({ from: 100_000 + c, to: 200_000 + c, text: `cluster ${c} #${i}` });
  }
  const ids = await sendAll(h, plan.slice(0, 200));
  for (const p of plan.slice(200)) {
    const r = await fetch(`${secondApi}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${DEV_KEY}` },
      body: JSON.stringify({ from: p.from, to: { user: p.to }, content: p.text }),
    });
    assert.equal(r.status, 202);
    ids.push(((await r.json()) as { id: string }).id);
  }
  for (const id of ids) assert.match(id, /^msg_[0-9a-z]{10,40}$/);
  const views = await h.waitTerminal(ids, 60_000);
  for (const id of ids) assert.equal(views.get(id).status, 'sent', JSON.stringify(views.get(id)));
  assertExactlyOnce(h, plan);
  // Each conversation's two messages in acceptance order.
  for (let c = 0; c < 200; c++) {
    const rows = h.sandbox.store.singleMessages(100_000 + c, 200_000 + c);
    assert.deepEqual(
      rows.map((m: any) => decrypt(m.msgData)),
      [`cluster ${c} #0`, `cluster ${c} #1`],
    );
  }
  const one = await h.get(`/v1/messages/${ids[123]}`);
  assert.equal(one.status, 200);
  assert.equal(one.body.id, ids[123]);
  assert.equal(one.body.msg_id, views.get(ids[123]!).msg_id);
  assert.equal((await h.get('/v1/messages/msg_zzzzzzzzzzzzzz')).status, 404);
  // The list merges the 8 partitions' indexes (on every master) newest first: 400 messages in pages of 150.
  const listed: { id: string; created_at: string }[] = [];
  let cursor = '';
  for (let page = 0; page < 10; page++) {
    const r = await h.get(`/v1/messages?limit=150${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    listed.push(...r.body.messages.filter((m: { id: string }) => ids.includes(m.id)));
    if (r.body.next_cursor === null) break;
    cursor = r.body.next_cursor;
  }
  assert.deepEqual(new Set(listed.map((m) => m.id)), new Set(ids));
  assert.equal(listed.length, ids.length);
  for (let i = 1; i < listed.length; i++) {
    assert.ok(Date.parse(listed[i - 1]!.created_at) >= Date.parse(listed[i]!.created_at), 'newest first');
  }
});

test('?wait answers the outcome (pub/sub across the cluster), for a single and a group message', async () => {
  const single = await h.post('/v1/messages?wait=10', { from: 1, to: { user: 2 }, content: 'waited on a cluster' });
  assert.equal(single.status, 200, JSON.stringify(single.body));
  assert.equal(single.body.status, 'sent');
  assert.ok(single.body.msg_id >= 1);
  const group = await h.post('/v1/messages?wait=10', { from: 1, to: { group: 700 }, content: 'group on a cluster' });
  assert.equal(group.status, 200, JSON.stringify(group.body));
  assert.equal(group.body.status, 'sent');
});

test('the legacy /query/SendSingleMessage waits for the msg_id on a cluster too', async () => {
  const raw = await rawPost(
    h.apiPort,
    '/query/SendSingleMessage',
    JSON.stringify({ app_key: DEV_KEY, req_user_id: 3, from_user_id: 3, session_id: 4, msg: 'legacy on a cluster' }),
  );
  const stored = h.sandbox.store.singleMessages(3, 4);
  assert.equal(stored.length, 1);
  assert.match(raw, new RegExp(`"error_code" : 0,[\\s\\S]*"msg_id" : ${stored[0]!.msgId}\\n`));
});

test('an Idempotency-Key repeated through the other api answers the first message', async () => {
  const body = { from: 5, to: { user: 6 }, content: 'once only' };
  const first = await h.post('/v1/messages', body, { 'idempotency-key': 'cluster-idem-1' });
  assert.equal(first.status, 202);
  const again = await fetch(`${secondApi}/v1/messages`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${DEV_KEY}`,
      'idempotency-key': 'cluster-idem-1',
    },
    body: JSON.stringify(body),
  });
  assert.equal(((await again.json()) as { id: string }).id, first.body.id);
  await h.waitTerminal([first.body.id]);
  assert.equal(h.sandbox.store.singleMessages(5, 6).length, 1);
});

test('a scheduled message is sent when due; another is cancelled before it', async () => {
  const soon = await h.post('/v1/messages', {
    from: 7,
    to: { user: 8 },
    content: 'due soon',
    send_at: new Date(Date.now() + 1500).toISOString(),
  });
  assert.equal(soon.status, 202, JSON.stringify(soon.body));
  assert.equal(soon.body.status, 'scheduled');
  const later = await h.post('/v1/messages', {
    from: 7,
    to: { user: 9 },
    content: 'never',
    send_at: new Date(Date.now() + 600_000).toISOString(),
  });
  const cancel = await fetch(`${h.url}/v1/messages/${later.body.id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${DEV_KEY}` },
  });
  assert.equal(cancel.status, 200);
  const views = await h.waitTerminal([soon.body.id, later.body.id], 20_000);
  assert.equal(views.get(soon.body.id).status, 'sent');
  assert.equal(views.get(later.body.id).status, 'cancelled');
  assert.equal(h.sandbox.store.singleMessages(7, 9).length, 0);
});

test('a batch of 3,000 recipients completes, counts add up, each recipient stored exactly once', async () => {
  const n = 3000;
  const r = await uploadNdjson(h, ndjsonLines({ from: 30, content: 'batch on a cluster' }, users(3_000_000, n)), {
    headers: { 'idempotency-key': 'cluster-batch-1' },
  });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const view = await waitBatch(h, r.body.id, finished, 60_000);
  assert.equal(view.status, 'completed');
  assert.deepEqual(view.counts, { queued: 0, sending: 0, sent: n, failed: 0, cancelled: 0 });
  for (let u = 3_000_000; u < 3_000_000 + n; u++) {
    const rows = h.sandbox.store.singleMessages(30, u);
    assert.equal(rows.length, 1, `user ${u} holds ${rows.length}`);
  }
  // The same Idempotency-Key answers the first batch, whichever slot its key lies on.
  const again = await uploadNdjson(h, ndjsonLines({ from: 30, content: 'batch on a cluster' }, users(3_000_000, n)), {
    headers: { 'idempotency-key': 'cluster-batch-1' },
  });
  assert.equal(again.body.id, r.body.id);
});

test('the keys and the queues are spread: message records and BullMQ queues on every master', async () => {
  const ports = h.cluster!.servers.map((s) => s.port);
  const sizes = await h.cluster!.dbsizes();
  assert.equal(sizes.filter((s) => s > 0).length, 3, `keys per master: ${sizes.join(', ')}`);
  const records = await Promise.all(ports.map((p) => keysOn(p, 'ttp:{p*}:m:*')));
  assert.equal(records.filter((k) => k.length > 0).length, 3, `records per master: ${records.map((k) => k.length)}`);
  // BullMQ's queue of partition N: ttp:{pN}:lanes:* (meta, id, events...); a master holds whole queues only.
  const queues = await Promise.all(
    ports.map(async (p) => new Set((await keysOn(p, 'ttp:{p*}:lanes:*')).map((k) => k.split(':')[1]))),
  );
  assert.ok(queues.filter((q) => q.size > 0).length >= 2, `queues per master: ${queues.map((q) => [...q])}`);
  const all = queues.flatMap((q) => [...q]);
  assert.equal(new Set(all).size, all.length, 'a queue split over two masters');
  assert.equal(all.length, 8, `queues found: ${all}`);
  // /metrics and /readyz read the per-partition counters and the workers' state across the masters.
  const metrics = await fetch(`${h.url}/metrics`);
  assert.equal(metrics.status, 200);
  assert.match(await metrics.text(), /ttpush_queue_depth 0/);
  assert.equal((await fetch(`${h.url}/readyz`)).status, 200);
});

test('a tenant key made through one api sends through the other, and its signed webhook arrives', async () => {
  // Tenant records and webhook state live in slots of their own: both must work on a cluster too.
  const received: { body: string; headers: Record<string, string> }[] = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ body, headers: req.headers as Record<string, string> });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  try {
    const admin = { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` };
    let r = await fetch(`${h.url}/v1/admin/apps`, { method: 'POST', headers: admin, body: '{"name":"clustered"}' });
    assert.equal(r.status, 201, await r.text());
    r = await fetch(`${h.url}/v1/admin/apps/clustered/keys`, {
      method: 'POST',
      headers: admin,
      // Webhooks are app-wide: the key needs manage_webhooks to create an endpoint.
      body: '{"senders":[4242],"manage_webhooks":true}',
    });
    assert.equal(r.status, 201);
    const secretKey = ((await r.json()) as { secret: string }).secret;
    const auth = { 'content-type': 'application/json', authorization: `Bearer ${secretKey}` };
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    r = await fetch(`${secondApi}/v1/webhooks/endpoints`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ url, events: ['message.sent'] }),
    });
    assert.equal(r.status, 201, await r.clone().text());
    const { id: endpointId, secret: endpointSecret } = (await r.json()) as { id: string; secret: string };
    // The workers learn of the endpoint by a notice: send until a message has a delivery to it (those sent before
    // have none), rather than guess when with a sleep.
    let view = { id: '', status: '', msg_id: 0 };
    await untilEndpointKnown({
      send: async () => {
        const sent = await fetch(`${secondApi}/v1/messages?wait=10`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({ from: 4242, to: { user: 4243 }, content: 'tenant on a cluster' }),
        });
        view = (await sent.json()) as typeof view;
        assert.equal(view.status, 'sent', JSON.stringify(view));
        return view.id;
      },
      delivered: async (id) => {
        const page = await fetch(`${h.url}/v1/webhooks/deliveries?endpoint=${endpointId}`, { headers: auth });
        const body = (await page.json()) as { deliveries: { event_id: string }[] };
        return body.deliveries.some((d) => d.event_id.includes(`_${id}_`));
      },
    });
    const deadline = Date.now() + 20_000;
    while (received.length === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    assert.equal(received.length, 1, 'the message.sent event arrived once');
    const event = new Webhook(endpointSecret).verify(received[0]!.body, received[0]!.headers) as {
      type: string;
      data: { id: string; msg_id: number };
    };
    assert.equal(event.type, 'message.sent');
    assert.equal(event.data.id, view.id);
    assert.equal(event.data.msg_id, view.msg_id);
    // Out of its scope: another sender is refused on either api.
    r = await fetch(`${h.url}/v1/messages`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ from: 1, to: { user: 4243 }, content: 'not mine' }),
    });
    assert.equal(r.status, 403);
  } finally {
    receiver.closeAllConnections();
    await new Promise<void>((r) => receiver.close(() => r()));
  }
});

test('a master down: its partitions answer 503 redis_unavailable, the others are accepted; no process dies', async () => {
  await h.cluster!.servers[1]!.kill();
  const statuses: string[] = [];
  for (let i = 0; i < 40; i++) {
    const r = await h.post('/v1/messages', { from: 60_000 + i, to: { user: 70_000 + i }, content: 'one master down' });
    statuses.push(r.status === 202 ? '202' : `${r.status} ${r.body?.error?.code}`);
  }
  assert.ok(statuses.includes('202'), statuses.join(', '));
  assert.ok(statuses.includes('503 redis_unavailable'), statuses.join(', '));
  assert.deepEqual([...new Set(statuses)].sort(), ['202', '503 redis_unavailable']);
  for (const p of [h.api!, ...h.extraApis, ...h.workers]) assert.equal(p.child.exitCode, null);
});
