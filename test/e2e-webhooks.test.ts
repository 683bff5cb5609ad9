// Webhooks end to end: a real receiver (an HTTP server this test runs) behind endpoints and callback URLs, the api
// and a worker as child processes, signatures checked with the independent `standardwebhooks` package.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { Harness, DEV_KEY, sleep } from './helpers/harness.ts';
import { untilEndpointKnown } from './helpers/webhooks.ts';

interface Received {
  /** When it arrived (ms). */
  at: number;
  headers: Record<string, string>;
  body: string;
  json: { type: string; timestamp: string; data: any };
}

/**
 * A receiver on 127.0.0.1: records every request, answers what `answer` says (null: never answers). The probes that
 * tell a new endpoint is known (metadata {"probe": true}) are answered 200 and kept apart, out of `got`.
 */
class Receiver {
  readonly got: Received[] = [];
  readonly probes: string[] = [];
  answer: (r: Received) => number | null = () => 200;
  private readonly open = new Set<ServerResponse>();
  private constructor(private readonly server: Server) {}

  static async start(): Promise<Receiver> {
    const server = createServer();
    const r = new Receiver(server);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const got: Received = {
          at: Date.now(),
          headers: req.headers as Record<string, string>,
          body,
          json: JSON.parse(body),
        };
        if (got.json.data?.metadata?.probe === true) {
          r.probes.push(got.json.data.id);
          res.writeHead(200).end();
          return;
        }
        r.got.push(got);
        const status = r.answer(got);
        if (status === null) {
          r.open.add(res);
          res.on('close', () => r.open.delete(res));
        } else res.writeHead(status).end();
      });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    return r;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  get hanging(): number {
    return this.open.size;
  }

  /** Until `n` requests matched `pred`; bounded. */
  async waitFor(pred: (r: Received) => boolean, n = 1, timeoutMs = 20_000): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hits = this.got.filter(pred);
      if (hits.length >= n) return hits;
      if (Date.now() > deadline) throw new Error(`receiver got ${hits.length} of ${n} expected requests`);
      await sleep(25);
    }
  }

  async stop(): Promise<void> {
    for (const res of this.open) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((ok) => this.server.close(() => ok()));
  }
}

let h: Harness;
const receivers: Receiver[] = [];
const receiver = async () => {
  const r = await Receiver.start();
  receivers.push(r);
  return r;
};

before(async () => {
  h = await Harness.start({
    env: {
      TTPUSH_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32',
      TTPUSH_WEBHOOK_RETRY_SCHEDULE: '50ms,50ms,50ms,50ms,50ms,50ms',
      TTPUSH_WEBHOOK_TIMEOUT_MS: '1000',
      // Long: an endpoint a test lets fail (a receiver that hangs, or answers 503) must not be disabled half-way
      // however slow the machine; the test of disabling runs a worker of its own with 3s.
      TTPUSH_WEBHOOK_DISABLE_AFTER: '1h',
    },
  });
});
after(async () => {
  await Promise.all(receivers.map((r) => r.stop()));
  await h?.stop();
});

async function request(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const r = await fetch(`${h.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${DEV_KEY}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

/**
 * Creates an endpoint for `rx` and, when it takes message.sent, waits until the worker knows it: a probe message has a
 * delivery to it, and the receiver got that probe (so the probe's attempt is over). An endpoint of other events only
 * is used by tests that wait for its events with a deadline.
 */
async function endpoint(rx: Receiver, events: string[]): Promise<{ id: string; secret: string }> {
  const r = await request('POST', '/v1/webhooks/endpoints', { url: rx.url, events });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  if (events.includes('message.sent')) {
    const probe = await untilEndpointKnown({
      send: async () => (await send(90, 91, { metadata: { probe: true } })).id,
      delivered: async (id) => (await deliveriesOf(r.body.id, [id])).length > 0,
    });
    for (const deadline = Date.now() + 20_000; !rx.probes.includes(probe); await sleep(25)) {
      assert.ok(Date.now() < deadline, 'the probe was not delivered');
    }
  }
  return r.body;
}

/** The endpoint's deliveries of the messages `ids` (every page). */
async function deliveriesOf(endpointId: string, ids: string[], status?: string): Promise<any[]> {
  const out: any[] = [];
  let cursor: string | null = null;
  do {
    const q = `endpoint=${endpointId}&limit=200${status ? `&status=${status}` : ''}${cursor ? `&cursor=${cursor}` : ''}`;
    const page = await request('GET', `/v1/webhooks/deliveries?${q}`);
    assert.equal(page.status, 200, JSON.stringify(page.body));
    // The event id is evt_<message id>_<type>.
    for (const d of page.body.deliveries) if (ids.some((id) => d.event_id.includes(`_${id}_`))) out.push(d);
    cursor = page.body.next_cursor;
  } while (cursor !== null);
  return out;
}

/** Until `read()` satisfies `done`, or throws after the deadline with the last value. */
async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(v)} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

async function send(from: number, to: number, extra: Record<string, unknown> = {}): Promise<any> {
  const r = await h.post('/v1/messages?wait=10', { from, to: { user: to }, content: `hi ${to}`, ...extra });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

/**
 * Replaces the worker by one started with `env` added to the harness's; resolves once it sent a message (/readyz may
 * still count the old one's heartbeat for a few seconds).
 */
async function swapWorker(env: Record<string, string> = {}): Promise<void> {
  await h.killWorker(h.workers.shift()!, 'SIGTERM');
  h.startWorker(env);
  const r = await h.post('/v1/messages?wait=30', { from: 92, to: { user: 93 }, content: 'worker swapped' });
  assert.equal(r.body.status, 'sent', JSON.stringify(r.body));
}

const verify = (secret: string, got: Received) => new Webhook(secret).verify(got.body, got.headers);

async function webhookMetric(outcome: string): Promise<number> {
  const text = await (await fetch(`${h.url}/metrics`)).text();
  const m = new RegExp(`^ttpush_webhook_deliveries_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/**
 * The counter once it stopped moving: workers flush their counters to Redis every second, so a value read twice, two
 * flushes apart, has every earlier attempt in it. Bounded.
 */
async function settledMetric(outcome: string, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = await webhookMetric(outcome);
  for (;;) {
    await sleep(2100);
    const now = await webhookMetric(outcome);
    if (now === last) return now;
    if (Date.now() > deadline) throw new Error(`ttpush_webhook_deliveries_total{outcome="${outcome}"} kept moving`);
    last = now;
  }
}

test('message.sent arrives signed the Standard Webhooks way, with the msg_id, and verifies independently', async () => {
  const rx = await receiver();
  const ep = await endpoint(rx, ['message.sent']);
  assert.match(ep.secret, /^whsec_/);
  try {
    const msg = await send(101, 102);
    const [got] = await rx.waitFor((r) => r.json.data.id === msg.id);
    assert.deepEqual(verify(ep.secret, got!), got!.json);
    assert.equal(got!.json.type, 'message.sent');
    assert.equal(got!.json.data.msg_id, msg.msg_id);
    assert.equal(got!.json.data.status, 'sent');
    assert.match(got!.headers['webhook-signature']!, /^v1,[A-Za-z0-9+/]+=*$/);
    assert.throws(() => verify(`whsec_${Buffer.alloc(32, 1).toString('base64')}`, got!), /signature/i);
    // The receiver answered; the worker records the delivery right after.
    await until(
      () => deliveriesOf(ep.id, [msg.id], 'delivered'),
      (ds) => ds.some((d: any) => d.event_id === got!.headers['webhook-id']),
      'the delivery listed as delivered',
    );
    // The secret is shown once: never again on reads.
    const read = await request('GET', `/v1/webhooks/endpoints/${ep.id}`);
    assert.equal(read.body.secret, undefined);
    assert.ok(!JSON.stringify((await request('GET', '/v1/webhooks/endpoints')).body).includes(ep.secret));
  } finally {
    await request('DELETE', `/v1/webhooks/endpoints/${ep.id}`);
  }
});

test('a receiver failing 5 times then succeeding gets the event with one id, counted delivered once', async () => {
  const rx = await receiver();
  const failures = new Map<string, number>();
  rx.answer = (r) => {
    const n = failures.get(r.headers['webhook-id']!) ?? 0;
    failures.set(r.headers['webhook-id']!, n + 1);
    return n < 5 ? 500 : 204;
  };
  const ep = await endpoint(rx, ['message.sent']);
  try {
    // Earlier tests' (and the probe's) counters reach /metrics within a flush (1 s): count from after them.
    const deliveredBefore = await settledMetric('delivered');
    const msg = await send(103, 104);
    const got = await rx.waitFor((r) => r.json.data.id === msg.id, 6);
    assert.equal(new Set(got.map((g) => g.headers['webhook-id'])).size, 1);
    for (const g of got) verify(ep.secret, g);
    const list = await deliveriesOf(ep.id, [msg.id]);
    assert.equal(list.length, 1);
    const id = list[0].id;
    const d = await until(
      async () => (await request('GET', `/v1/webhooks/deliveries/${id}`)).body,
      (v) => v.status === 'delivered',
      'the delivery delivered',
    );
    assert.equal(d.attempts, 6);
    assert.deepEqual(
      d.attempt_log.map((a: any) => a.status),
      [500, 500, 500, 500, 500, 204],
    );
    assert.equal(d.payload.data.id, msg.id);
    // Worker counters reach /metrics within about a second: once it moved, it must have moved by one.
    await until(
      () => webhookMetric('delivered'),
      (n) => n > deliveredBefore,
      'the delivered counter',
    );
    assert.equal((await settledMetric('delivered')) - deliveredBefore, 1);
    await sleep(300);
    assert.equal(got.length, 6, 'no seventh request after the success');
    assert.equal(rx.got.filter((r) => r.json.data.id === msg.id).length, 6);
  } finally {
    await request('DELETE', `/v1/webhooks/endpoints/${ep.id}`);
  }
});

test('a receiver that never answers does not hold up sending', async () => {
  const rx = await receiver();
  rx.answer = () => null;
  const ep = await endpoint(rx, ['message.sent', 'message.failed']);
  let maxHanging = 0;
  const sampler = setInterval(() => (maxHanging = Math.max(maxHanging, rx.hanging)), 10);
  try {
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) {
      const r = await h.post('/v1/messages', { from: 200 + (i % 20), to: { user: 300 + i }, content: `m${i}` });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      ids.push(r.body.id);
    }
    const views = await h.waitTerminal(ids, 30_000);
    assert.ok([...views.values()].every((v) => v.status === 'sent'));
    // The receiver held its first request unanswered before the last message was sent: sends went on meanwhile.
    const lastSent = Math.max(...[...views.values()].map((v) => Date.parse(v.sent_at)));
    assert.ok(rx.got.length > 0 && rx.got[0]!.at < lastSent, 'the receiver hung while messages were being sent');
    assert.ok(maxHanging >= 1, 'the receiver held requests open');
    assert.ok(maxHanging <= 4, `${maxHanging} open: at most TTPUSH_WEBHOOK_ENDPOINT_CONCURRENCY attempts at once`);
    // A message's deliveries are written before its terminal state: count them, with a deadline all the same.
    const listed = await until(
      () => deliveriesOf(ep.id, ids),
      (ds) => ds.length >= 200,
      'deliveries of the 200 messages',
    );
    assert.equal(listed.length, 200);
    assert.ok(listed.every((d: any) => d.status !== 'delivered'));
  } finally {
    clearInterval(sampler);
    await request('DELETE', `/v1/webhooks/endpoints/${ep.id}`);
  }
});

test('after a rotation both secrets sign during the grace period, then only the new one', async () => {
  const rx = await receiver();
  const ep = await endpoint(rx, ['message.sent']);
  try {
    const rotated = await request('POST', `/v1/webhooks/endpoints/${ep.id}/rotate-secret`, { grace_seconds: 3600 });
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    assert.notEqual(rotated.body.secret, ep.secret);
    assert.ok(rotated.body.previous_secret_expires_at);
    const m1 = await send(105, 106);
    const [g1] = await rx.waitFor((r) => r.json.data.id === m1.id);
    assert.equal(g1!.headers['webhook-signature']!.split(' ').length, 2);
    verify(rotated.body.secret, g1!);
    verify(ep.secret, g1!);

    const again = await request('POST', `/v1/webhooks/endpoints/${ep.id}/rotate-secret`, { grace_seconds: 0 });
    assert.equal(again.status, 200);
    const m2 = await send(105, 106);
    const [g2] = await rx.waitFor((r) => r.json.data.id === m2.id);
    assert.equal(g2!.headers['webhook-signature']!.split(' ').length, 1);
    verify(again.body.secret, g2!);
    assert.throws(() => verify(rotated.body.secret, g2!));
  } finally {
    await request('DELETE', `/v1/webhooks/endpoints/${ep.id}`);
  }
});

test('URLs reaching loopback, private or link-local addresses are refused unless allowed', async () => {
  for (const url of [
    'http://127.0.0.2:9/x', // loopback outside the allowed 127.0.0.1/32
    'http://10.1.2.3/x',
    'http://192.168.1.1/x',
    'http://169.254.169.254/latest/meta-data',
    'http://[::1]/x',
    'http://[::ffff:10.0.0.1]/x',
    'http://[fe80::1]/x',
    'http://100.64.0.1/x',
    'http://localhost/x', // resolves to ::1 (or 127.0.0.1 only when the resolver gives nothing else)
  ]) {
    const r = await request('POST', '/v1/webhooks/endpoints', { url, events: ['message.sent'] });
    if (url.includes('localhost') && r.status === 201) {
      await request('DELETE', `/v1/webhooks/endpoints/${r.body.id}`);
      continue;
    }
    assert.equal(r.status, 400, `${url}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error.code, 'webhook_url_refused');
    assert.equal(r.body.error.field, 'url');
  }
  const scheme = await request('POST', '/v1/webhooks/endpoints', {
    url: 'ftp://example.com/',
    events: ['message.sent'],
  });
  assert.equal(scheme.body.error.code, 'webhook_url_refused');
  await request('GET', '/v1/webhooks/callback-secret');
  const cb = await h.post('/v1/messages', {
    from: 1,
    to: { user: 2 },
    content: 'x',
    callback_url: 'http://169.254.169.254/',
  });
  assert.equal(cb.status, 400);
  assert.equal(cb.body.error.code, 'webhook_url_refused');
  assert.equal(cb.body.error.field, 'callback_url');
  const bad = await request('POST', '/v1/webhooks/endpoints', { url: 'http://127.0.0.1/', events: ['nope'] });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.field, 'events.0');
});

test('a dead delivery is redelivered with the same event id, one by one or all failed of an endpoint', async () => {
  const rx = await receiver();
  let up = false;
  rx.answer = () => (up ? 200 : 503);
  const ep = await endpoint(rx, ['message.sent']);
  try {
    const m1 = await send(107, 108);
    const m2 = await send(107, 109);
    const ids = new Set([m1.id, m2.id]);
    // 1 attempt + 6 retries each, then dead.
    await rx.waitFor((r) => ids.has(r.json.data.id), 14);
    const dead = await until(
      () => deliveriesOf(ep.id, [...ids], 'dead'),
      (ds) => ds.length === 2,
      'both deliveries dead',
    );
    up = true;
    const one = dead.find((d: any) => d.event_id.includes(m1.id));
    const r1 = await request('POST', `/v1/webhooks/deliveries/${one.id}/redeliver`);
    assert.equal(r1.status, 202);
    const [ok1] = await rx.waitFor((r) => r.json.data.id === m1.id && r.headers['webhook-id'] === one.event_id, 8);
    assert.ok(ok1);
    const all = await request('POST', `/v1/webhooks/endpoints/${ep.id}/redeliver-failed`);
    assert.equal(all.status, 202);
    assert.equal(all.body.redelivered, 1);
    await rx.waitFor((r) => r.json.data.id === m2.id, 8);
    await until(
      () => deliveriesOf(ep.id, [...ids], 'delivered'),
      (ds) => ds.length === 2,
      'both deliveries delivered',
    );
    const d1 = (await request('GET', `/v1/webhooks/deliveries/${one.id}`)).body;
    assert.equal(d1.status, 'delivered');
    assert.equal(d1.attempts, 8);
  } finally {
    await request('DELETE', `/v1/webhooks/endpoints/${ep.id}`);
  }
});

test('callback_url gets message.failed and batch.completed, signed with the app callback secret', async () => {
  const rx = await receiver();
  const first = await request('GET', '/v1/webhooks/callback-secret');
  // An earlier test may have created it: rotate to learn a secret.
  const secret =
    first.status === 201
      ? first.body.secret
      : (await request('POST', '/v1/webhooks/callback-secret/rotate', { grace_seconds: 0 })).body.secret;
  assert.match(secret, /^whsec_/);
  assert.equal((await request('GET', '/v1/webhooks/callback-secret')).body.secret, undefined);

  // A message to oneself is refused up front; a text TeamTalk refuses fails: use a deadline already near.
  const failed = await h.post('/v1/messages', {
    from: 110,
    to: { user: 111 },
    content: 'late',
    send_at: new Date(Date.now() + 300).toISOString(),
    deadline: new Date(Date.now() + 301).toISOString(),
    callback_url: rx.url,
  });
  assert.equal(failed.status, 202, JSON.stringify(failed.body));
  const [gf] = await rx.waitFor((r) => r.json.data.id === failed.body.id);
  verify(secret, gf!);
  assert.equal(gf!.json.type, 'message.failed');
  assert.equal(gf!.json.data.error.code, 'expired');

  const batch = await h.post('/v1/batches', {
    from: 112,
    content: 'batch',
    recipients: [{ user: 113 }, { user: 114 }, { user: 115 }],
    callback_url: rx.url,
  });
  assert.equal(batch.status, 202, JSON.stringify(batch.body));
  const [gb] = await rx.waitFor((r) => r.json.type === 'batch.completed' && r.json.data.id === batch.body.id);
  verify(secret, gb!);
  assert.equal(gb!.json.data.counts.sent, 3);
  assert.equal(gb!.json.data.status, 'completed');
  // One event per batch, none per recipient.
  await sleep(300);
  assert.equal(rx.got.filter((r) => r.json.data.id === batch.body.id).length, 1);

  // NDJSON: callback_url on the header line.
  const lines = [{ from: 112, content: 'nd', callback_url: rx.url }, { user: 120 }, { user: 121 }];
  const nd = await fetch(`${h.url}/v1/batches`, {
    method: 'POST',
    headers: { authorization: `Bearer ${DEV_KEY}`, 'content-type': 'application/x-ndjson' },
    body: lines.map((l) => JSON.stringify(l)).join('\n'),
  });
  const ndBody = (await nd.json()) as { id: string };
  assert.equal(nd.status, 202, JSON.stringify(ndBody));
  const [gn] = await rx.waitFor((r) => r.json.type === 'batch.completed' && r.json.data.id === ndBody.id);
  verify(secret, gn!);
  assert.equal(gn!.json.data.counts.sent, 2);
});

test('an endpoint failing for TTPUSH_WEBHOOK_DISABLE_AFTER is disabled and the app told on its other endpoints', async () => {
  const broken = await receiver();
  broken.answer = () => 500;
  const healthy = await receiver();
  await swapWorker({ TTPUSH_WEBHOOK_DISABLE_AFTER: '3s' });
  const bad = await endpoint(broken, ['message.sent']);
  const good = await endpoint(healthy, ['batch.completed']);
  try {
    let view: any;
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(250)) {
      await send(116, 117);
      view = (await request('GET', `/v1/webhooks/endpoints/${bad.id}`)).body;
      if (!view.enabled) break;
    }
    assert.equal(view.enabled, false);
    assert.match(view.disabled_reason, /TTPUSH_WEBHOOK_DISABLE_AFTER/);
    const [told] = await healthy.waitFor((r) => r.json.type === 'endpoint.disabled');
    verify(good.secret, told!);
    assert.equal(told!.json.data.id, bad.id);
    await until(
      async () =>
        (await (await fetch(`${h.url}/metrics`)).text()).match(/^ttpush_webhook_endpoints_disabled_total .*/m)?.[0],
      (line) => line !== undefined && /^ttpush_webhook_endpoints_disabled_total [1-9]/.test(line),
      'the disabled endpoints counter',
    );
    // A disabled endpoint gets no new events; enabling it again restarts the count.
    const reenabled = await request('PATCH', `/v1/webhooks/endpoints/${bad.id}`, { enabled: true });
    assert.equal(reenabled.body.enabled, true);
    assert.equal(reenabled.body.failing_since, null);
  } finally {
    await request('DELETE', `/v1/webhooks/endpoints/${bad.id}`);
    await request('DELETE', `/v1/webhooks/endpoints/${good.id}`);
    await swapWorker();
  }
});

test('a worker killed while sending: every message that ends sent has its event delivered', async () => {
  const rx = await receiver();
  const ep = await endpoint(rx, ['message.sent']);
  try {
    const total = 2000;
    const storedBefore = h.sandbox.store.count();
    const ids: string[] = [];
    let next = 0;
    const posting = Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = next++; i < total; i = next++) {
          const r = await h.post('/v1/messages', { from: 400 + (i % 40), to: { user: 500 + i }, content: `k${i}` });
          assert.equal(r.status, 202, JSON.stringify(r.body));
          ids.push(r.body.id);
        }
      }),
    );
    // Kill while messages are still arriving and being sent.
    while (h.sandbox.store.count() - storedBefore < 200) await sleep(10);
    await h.killWorker(h.workers[0]!);
    h.workers.shift();
    const storedAtKill = h.sandbox.store.count() - storedBefore;
    await posting;
    assert.ok(storedAtKill < total, `the worker was killed mid-run (${storedAtKill} stored)`);
    h.startWorker();
    const views = await h.waitTerminal(ids, 90_000);
    const sent = [...views.values()].filter((v) => v.status === 'sent').map((v) => v.id as string);
    const notSent = [...views.values()].filter((v) => v.status !== 'sent');
    assert.equal(
      sent.length,
      total,
      `not sent: ${JSON.stringify(notSent.slice(0, 5).map((v) => [v.id, v.status, v.error?.code]))}`,
    );
    let missing: string[] = sent;
    for (const deadline = Date.now() + 30_000; missing.length > 0 && Date.now() < deadline; await sleep(100)) {
      const seen = new Set(rx.got.map((r) => r.json.data.id as string));
      missing = sent.filter((id) => !seen.has(id));
    }
    assert.deepEqual(missing, [], 'sent messages without a message.sent event');
    // Duplicates, if any, carry the same webhook-id as the first.
    const idsOf = new Map<string, Set<string>>();
    for (const r of rx.got)
      idsOf.set(r.json.data.id, (idsOf.get(r.json.data.id) ?? new Set()).add(r.headers['webhook-id']!));
    assert.ok([...idsOf.values()].every((s) => s.size === 1));
  } finally {
    await request('DELETE', `/v1/webhooks/endpoints/${ep.id}`);
  }
});

test('every attempt checks the address again: a worker without the allowance refuses to call the receiver', async () => {
  const rx = await receiver();
  const ep = await endpoint(rx, ['message.sent']);
  try {
    // A starting worker reads the endpoints before it lets a message end (no sleep needed).
    await swapWorker({ TTPUSH_WEBHOOK_ALLOWED_NETWORKS: '' });
    const msg = await send(118, 119);
    const [d] = await until(
      () => deliveriesOf(ep.id, [msg.id]),
      (ds) => ds[0]?.attempts >= 1,
      'the first attempt',
    );
    assert.equal(d.last_error, 'address_refused');
    assert.equal(d.last_status, null);
    assert.equal(rx.got.length, 0);
  } finally {
    await request('DELETE', `/v1/webhooks/endpoints/${ep.id}`);
    await swapWorker();
  }
});
