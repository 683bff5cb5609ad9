// Failed only with cause: requests db_proxy leaves unanswered. An outage (silent, then connections cut), a parked
// worker thread (notes §10: a share of requests never answered) and stores that land after the reply deadline all
// end with every message stored exactly once; only a deliberate silence (unknown group, non-member) fails, with its
// cause, at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, sleep } from './helpers/harness.ts';
import { sendAll, assertExactlyOnce, type Planned } from './helpers/send-many.ts';

const ADMIN_KEY = 'admin-key-for-the-silence-e2e-01';

/** Short timeouts so that each silence costs about a second: reply timeout, then settle. */
const FAST = { TTPUSH_TEAMTALK_REPLY_TIMEOUT_MS: '1000', TTPUSH_TEAMTALK_SETTLE_MS: '1500' };

function plan(n: number, conversations: number, tag: string): Planned[] {
  return Array.from({ length: n }, (_, i) => ({ from: 1 + (i % conversations), to: 7000, text: `${tag} ${i}` }));
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function assertAllSent(views: Map<string, any>): void {
  const failed = [...views.values()].filter((v) => v.status !== 'sent');
  assert.deepEqual(
    failed.slice(0, 5).map((v) => [v.id, v.status, v.error?.code]),
    [],
    `${failed.length} messages not sent`,
  );
}

test('db_proxy silent for 4 s, then its connections cut: 5,000 messages over 100 conversations, none failed, each stored once', async () => {
  const h = await Harness.start({ workers: 1, sandbox: { reorderDelayMs: 2 }, env: FAST });
  try {
    const p = plan(5000, 100, 'outage');
    const sending = sendAll(h, p, 32);
    await until('the first 1,000 stored', () => h.sandbox.store.count() >= 1000);
    h.sandbox.dbProxy.setFault({ noReply: true });
    const droppedBefore = h.sandbox.dbProxy.stats.dropped;
    await sleep(4000);
    h.sandbox.dbProxy.closeAllConnections();
    h.sandbox.dbProxy.setFault({});
    const dropped = h.sandbox.dbProxy.stats.dropped - droppedBefore;
    assert.ok(dropped >= 100, `requests were caught in the outage (${dropped})`);
    const ids = await sending;
    const views = await h.waitTerminal(ids, 180_000);
    assertAllSent(views);
    assertExactlyOnce(h, p);
  } finally {
    await h.stop();
  }
});

test('stores that land after the reply deadline: still one copy of each, all sent', async () => {
  // The guarantee: a store that lands within reply timeout + settle of its send is found, not doubled. The margin
  // (here 1000 + 3000 - 1500 ms) also has to cover the sandbox's own lag in receiving the request on a busy machine.
  const h = await Harness.start({ workers: 1, env: { ...FAST, TTPUSH_TEAMTALK_SETTLE_MS: '3000' } });
  try {
    // A fifth of the stores come 1.5 s late: after the 1 s reply timeout, well within timeout + settle.
    h.sandbox.dbProxy.setFault({ storeLate: { share: 0.2, delayMs: 1500 } });
    const p = plan(600, 30, 'late');
    const ids = await sendAll(h, p, 16);
    const views = await h.waitTerminal(ids, 180_000);
    assert.ok(h.sandbox.dbProxy.stats.storedLate >= 50, `stores were late (${h.sandbox.dbProxy.stats.storedLate})`);
    // Whatever is still held lands before the check.
    await until('the late stores landed', () => h.sandbox.dbProxy.inFlight === 0);
    assertAllSent(views);
    assertExactlyOnce(h, p);
  } finally {
    await h.stop();
  }
});

test('a parked db_proxy thread (a quarter of requests never answered): every message once, counted, degraded, explained', async () => {
  // At warn level whatever TTPUSH_TEST_LOG_LEVEL says: the harness keeps only the last lines of output.
  const h = await Harness.start({
    workers: 1,
    env: { ...FAST, TTPUSH_ADMIN_KEY: ADMIN_KEY, TTPUSH_LOG_LEVEL: 'warn' },
  });
  const address = `127.0.0.1:${h.sandbox.dbProxy.port}`;
  try {
    h.sandbox.dbProxy.setFault({ threads: 4, parkedThreads: 1 });
    const p = plan(1000, 50, 'parked');
    const ids = await sendAll(h, p, 16);
    const views = await h.waitTerminal(ids, 240_000);
    assertAllSent(views);
    assertExactlyOnce(h, p);
    assert.ok(h.sandbox.dbProxy.stats.parked >= 100, `requests were parked (${h.sandbox.dbProxy.stats.parked})`);

    // The metric counts them per address (flushed once a second).
    let unanswered = 0;
    await until('the unanswered counter', async () => {
      const text = await (await fetch(`${h.url}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`ttpush_db_proxy_unanswered_total{address="${address}"}`));
      unanswered = Number(line?.split(' ').at(-1) ?? 0);
      return unanswered >= 100;
    });

    // /readyz: still ready (it delivers), but says which db_proxy is degraded and why.
    let body: any;
    await until('/readyz to say degraded', async () => {
      const ready = await fetch(`${h.url}/readyz`);
      assert.equal(ready.status, 200);
      body = await ready.json();
      return body.status === 'degraded';
    });
    assert.equal(body.db_proxy[0].address, address);
    assert.equal(body.db_proxy[0].status, 'degraded');
    assert.match(body.db_proxy[0].reason, /parked db_proxy_server thread; restart that db_proxy_server/);

    // The console shows it.
    const overview = (await (
      await fetch(`${h.url}/console/api/overview`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })
    ).json()) as any;
    assert.deepEqual(
      overview.db_proxy_degraded.map((d: any) => d.address),
      [address],
    );

    // One warning (rate-limited) names the likely cause and the fix.
    const log = h.workers[0]!.output.join('');
    const warnings = log.split('\n').filter((l) => l.includes(`db_proxy_server ${address} degraded`));
    assert.equal(warnings.length, 1, log.slice(-2000));
    const line = JSON.parse(warnings[0]!);
    assert.equal(line.level, 40);
    assert.match(line.msg, /parked/);
    assert.match(line.msg, /restart that db_proxy_server/);
  } finally {
    await h.stop();
  }
});

test('deliberate silences fail at once with their cause: unknown group, sender not a member', async () => {
  const h = await Harness.start({ workers: 1, sandbox: { groups: { '700': [1, 2, 3] } }, env: FAST });
  try {
    for (const [req, code] of [
      [{ from: 1, to: { group: 999999 }, content: 'unknown group' }, 'group_not_found'],
      [{ from: 42, to: { group: 700 }, content: 'not a member' }, 'not_a_member'],
    ] as const) {
      const r = await h.post('/v1/messages?wait=15', req);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.status, 'failed');
      assert.equal(r.body.error.code, code);
      // Terminal within the 15 s wait: after the reply timeout and one group query, not the message's age (an hour).
      assert.match(r.body.error.message, /group/);
    }
    const ok = await h.post('/v1/messages?wait=10', { from: 1, to: { group: 700 }, content: 'member' });
    assert.equal(ok.body.status, 'sent', JSON.stringify(ok.body));
    assert.equal(h.sandbox.store.count(), 1);
  } finally {
    await h.stop();
  }
});
