/**
 * db_proxy_server's thread-pool mode: a pool of worker threads, each free thread taking a random queued request and
 * holding it for a store time; replies in completion order, a ceiling over all threads, parked threads. Real sockets,
 * an injected clock.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CommandId, decodeBody, encodePdu, type Frame, type Timers } from '@ttpush/pdu';
import { FakeTimers } from '@ttpush/testkit';
import { seededRandom, startSandbox } from '../src/index.ts';
import { eventually, sandboxFor } from './helpers/sandbox.ts';
import { msgData, seqs } from './helpers/messages.ts';

const isMsgData = (f: Frame) => f.commandId === CommandId.MSG_DATA;

/** `n` IMMsgData in one write, seq 1..n, each to a conversation of its own (user 1 to user 1000 + seq). */
function burst(n: number): Buffer {
  return Buffer.concat(
    Array.from({ length: n }, (_, i) => encodePdu(CommandId.MSG_DATA, msgData({ from: 1, to: 1001 + i }), i + 1)),
  );
}

/** Each stored row's recipient, sorted: each request's recipient once when every request was stored exactly once. */
function storedRecipients(rows: { to: number }[]): number[] {
  return rows.map((r) => r.to).sort((a, b) => a - b);
}

describe('db_proxy thread-pool mode', () => {
  it('answers in completion order, out of the order of the requests, and stores each request exactly once', async (t) => {
    const timers = new FakeTimers();
    const { sandbox, connect } = await sandboxFor(t, {
      timers,
      random: seededRandom(7),
      dbThreadPool: { threads: 4, storeMs: { min: 0.3, max: 3 } },
    });
    const db = sandbox.dbProxy;
    const c = await connect(db.port);
    c.sendRaw(burst(60));
    await eventually(() => db.inFlight === 60, 'sixty requests');
    timers.advance(1000);
    const replies = await c.collect(60, isMsgData);
    const order = seqs(replies);
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      Array.from({ length: 60 }, (_, i) => i + 1),
      'each request answered once',
    );
    assert.notDeepEqual(
      order,
      [...order].sort((a, b) => a - b),
      'replies out of the order of the requests',
    );
    for (const f of replies) assert.equal(decodeBody(CommandId.MSG_DATA, f.body).msgId, 1);
    assert.deepEqual(
      storedRecipients(sandbox.store.allMessages()),
      Array.from({ length: 60 }, (_, i) => 1001 + i),
    );
    assert.equal(await c.receives(isMsgData, 50), false, 'no second reply to anything');
  });

  it('holds each request for its store time and at most `threads` at once', async (t) => {
    const timers = new FakeTimers();
    const { sandbox, connect } = await sandboxFor(t, {
      timers,
      dbThreadPool: { threads: 2, storeMs: { min: 10, max: 10 } },
    });
    const db = sandbox.dbProxy;
    const c = await connect(db.port);
    c.sendRaw(burst(7));
    await eventually(() => db.inFlight === 7, 'seven requests');
    timers.advance(9);
    assert.equal(db.stats.replies, 0, 'nothing before the store time');
    timers.advance(1);
    assert.equal(db.stats.replies, 2, 'two threads: two done at 10 ms');
    // Then two more every 10 ms, however many wait.
    for (const expected of [4, 6, 7]) {
      timers.advance(10);
      assert.equal(db.stats.replies, expected);
    }
    await c.collect(7, isMsgData);
  });

  it('never answers sooner than the shortest store time', async (t) => {
    const timers = new FakeTimers();
    const { sandbox, connect } = await sandboxFor(t, {
      timers,
      random: seededRandom(3),
      dbThreadPool: { threads: 8, storeMs: { min: 5, max: 8 } },
    });
    const db = sandbox.dbProxy;
    const c = await connect(db.port);
    c.sendRaw(burst(8));
    await eventually(() => db.inFlight === 8, 'eight requests');
    timers.advance(4.99);
    assert.equal(db.stats.replies, 0);
    timers.advance(3.01);
    assert.equal(db.stats.replies, 8, 'eight threads: all done within the longest store time');
    await c.collect(8, isMsgData);
  });

  it('keeps to the ceiling over all threads', async (t) => {
    const timers = new FakeTimers();
    const { sandbox, connect } = await sandboxFor(t, {
      timers,
      dbThreadPool: { threads: 4, storeMs: { min: 1, max: 1 }, maxPerSecond: 1000 },
    });
    const db = sandbox.dbProxy;
    const c = await connect(db.port);
    c.sendRaw(burst(100));
    await eventually(() => db.inFlight === 100, 'a hundred requests');
    timers.advance(50);
    // Without the ceiling four threads at 1 ms would have answered all 100 by now.
    assert.ok(db.stats.replies <= 51, `${db.stats.replies} replies in 50 ms at 1000/s`);
    assert.ok(db.stats.replies >= 45, `${db.stats.replies} replies in 50 ms: the ceiling, not slower`);
    timers.advance(100);
    assert.equal(db.stats.replies, 100);
    await c.collect(100, isMsgData);
  });

  it('keeps its rate on a coarse clock: a late timer completes every request already done', async (t) => {
    const manual = new FakeTimers();
    // Timers that fire only on 10 ms ticks, as a busy event loop fires them late.
    const timers: Timers = {
      now: () => manual.now(),
      setTimeout: (fn, ms) => manual.setTimeout(fn, Math.max(10, Math.ceil(ms / 10) * 10)),
      clearTimeout: (h) => manual.clearTimeout(h),
      setInterval: (fn, ms) => manual.setInterval(fn, ms),
      clearInterval: (h) => manual.clearInterval(h),
    };
    const { sandbox, connect } = await sandboxFor(t, {
      timers,
      dbThreadPool: { threads: 1, storeMs: { min: 1, max: 1 } },
    });
    const db = sandbox.dbProxy;
    const c = await connect(db.port);
    c.sendRaw(burst(100));
    await eventually(() => db.inFlight === 100, 'a hundred requests');
    manual.advance(50);
    // One thread at 1 ms: 50 done by 50 ms, however seldom the timer fires.
    assert.equal(db.stats.replies, 50);
    manual.advance(50);
    assert.equal(db.stats.replies, 100);
    await c.collect(100, isMsgData);
  });

  it('a parked thread keeps taking requests and neither stores nor answers any', async (t) => {
    const timers = new FakeTimers();
    const { sandbox, connect } = await sandboxFor(t, {
      timers,
      random: seededRandom(11),
      dbThreadPool: { threads: 4, storeMs: { min: 0.3, max: 3 } },
    });
    const db = sandbox.dbProxy;
    db.setFault({ parkedThreads: 1 });
    const c = await connect(db.port);
    c.sendRaw(burst(200));
    await eventually(() => db.inFlight === 200, 'two hundred requests');
    timers.advance(2000);
    assert.equal(db.inFlight, 0);
    assert.equal(db.stats.replies + db.stats.parked, 200);
    // About one in four: a parked thread takes requests all along, not one for ever.
    assert.ok(db.stats.parked > 20 && db.stats.parked < 100, `${db.stats.parked} parked of 200`);
    const replies = await c.collect(db.stats.replies, isMsgData);
    assert.equal(await c.receives(isMsgData, 50), false, 'no reply from the parked thread');
    const answered = seqs(replies).sort((a, b) => a - b);
    assert.equal(new Set(answered).size, answered.length);
    assert.deepEqual(
      storedRecipients(sandbox.store.allMessages()),
      answered.map((seq) => 1000 + seq),
      'exactly the answered requests stored, once each',
    );
  });

  it('refuses realistic mode and thread-pool mode together', async () => {
    await assert.rejects(startSandbox({ realistic: true, dbThreadPool: {} }), /exclude each other/);
  });
});
