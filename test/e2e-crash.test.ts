// No loss, no duplicate: workers killed with SIGKILL, connections cut, db_proxy down, Redis killed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, sleep } from './helpers/harness.ts';
import { sendAll, assertExactlyOnce, storedTexts, type Planned } from './helpers/send-many.ts';

function plan(n: number, conversations: number, tag: string): Planned[] {
  return Array.from({ length: n }, (_, i) => ({ from: 1 + (i % conversations), to: 5000, text: `${tag} ${i}` }));
}

async function waitStored(h: Harness, atLeast: number, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (h.sandbox.store.count() < atLeast) {
    if (Date.now() > end) throw new Error(`only ${h.sandbox.store.count()} stored`);
    await sleep(20);
  }
}

test('kill -9 a worker in the middle of 5,000 messages: each stored exactly once, all terminal', async () => {
  const h = await Harness.start({ workers: 1, sandbox: { reorderDelayMs: 2 }, env: { TTPUSH_WORKER_LOCK_MS: '2000' } });
  try {
    const p = plan(5000, 100, 'kill');
    // Kill while messages are still arriving and being sent.
    const sending = sendAll(h, p, 32);
    await waitStored(h, 1000);
    await h.killWorker(h.workers[0]!);
    const ids = await sending;
    const stored = h.sandbox.store.count();
    assert.ok(stored < 5000, `the worker was killed mid-run (${stored} stored)`);
    h.startWorker();
    const views = await h.waitTerminal(ids, 120_000);
    for (const v of views.values()) assert.equal(v.status, 'sent', JSON.stringify(v));
    assertExactlyOnce(h, p);
  } finally {
    await h.stop();
  }
});

test('the connection to db_proxy cut mid-flight: each stored exactly once', async () => {
  const h = await Harness.start({ workers: 1, sandbox: { reorderDelayMs: 5 } });
  try {
    const p = plan(3000, 60, 'cut');
    const sending = sendAll(h, p, 32);
    await waitStored(h, 500);
    const inFlight = h.sandbox.dbProxy.inFlight;
    h.sandbox.dbProxy.closeAllConnections();
    await waitStored(h, 1500);
    h.sandbox.dbProxy.closeAllConnections();
    const ids = await sending;
    assert.ok(h.sandbox.store.count() < 3000 || inFlight > 0, 'connections were cut while messages were being sent');
    const views = await h.waitTerminal(ids, 120_000);
    for (const v of views.values()) assert.equal(v.status, 'sent', JSON.stringify(v));
    assertExactlyOnce(h, p);
  } finally {
    await h.stop();
  }
});

test('db_proxy down for 20 s mid-run: nothing lost or doubled, everything sent after it returns', async () => {
  const h = await Harness.start({ workers: 1 });
  try {
    const p = plan(2000, 40, 'outage');
    const first = await sendAll(h, p.slice(0, 1000), 16);
    await waitStored(h, 200);
    await h.sandbox.dbProxy.stop();
    const second = await sendAll(h, p.slice(1000), 16);
    await sleep(20_000);
    await h.sandbox.dbProxy.start();
    const views = await h.waitTerminal([...first, ...second], 120_000);
    for (const v of views.values()) assert.equal(v.status, 'sent', JSON.stringify(v));
    assertExactlyOnce(h, p);
  } finally {
    await h.stop();
  }
});

test('Redis killed and restarted (AOF always): every message answered 202 is sent exactly once', async () => {
  const h = await Harness.start({ workers: 1, redis: { persistence: 'always' } });
  try {
    const p = plan(1500, 30, 'redis');
    const accepted: string[] = [];
    const acceptedPlan: Planned[] = [];
    let killed = false;
    let i = 0;
    const sender = (async () => {
      while (i < p.length) {
        const item = p[i++]!;
        const r = await h
          .post('/v1/messages', { from: item.from, to: { user: item.to }, content: item.text })
          .catch(() => null);
        if (r?.status === 202) {
          accepted.push(r.body.id);
          acceptedPlan.push(item);
        } else {
          assert.ok(!r || r.status === 503, `unexpected ${r?.status}`);
        }
      }
    })();
    await sleep(1500);
    await h.redis.kill();
    killed = true;
    await sleep(1000);
    await h.redis.startProcess();
    await sender;
    assert.ok(killed);
    assert.ok(accepted.length > 0);
    const views = await h.waitTerminal(accepted, 120_000);
    for (const v of views.values()) assert.equal(v.status, 'sent', JSON.stringify(v));
    // A request cut by the crash may or may not have been accepted; nothing may be stored twice, and every 202 once.
    await sleep(2000);
    const counts = new Map<string, number>();
    for (let c = 1; c <= 30; c++) for (const t of storedTexts(h, c, 5000)) counts.set(t, (counts.get(t) ?? 0) + 1);
    for (const [t, n] of counts) assert.equal(n, 1, `${t} stored ${n} times`);
    for (const item of acceptedPlan) assert.equal(counts.get(item.text), 1, `${item.text} (answered 202) not stored`);
  } finally {
    await h.stop();
  }
});
