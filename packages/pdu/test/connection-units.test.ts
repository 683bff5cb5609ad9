/**
 * The small timed units behind a connection, on fake timers: the pending-request table with its
 * single deadline timer, and the keepalive.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PendingGroup, PendingRequests, failRequest, type PendingRequest } from '../src/connection-pending.ts';
import type { RequestBatch } from '../src/request-batch.ts';
import { Keepalive } from '../src/connection-keepalive.ts';
import { ConnectionWriter } from '../src/connection-writer.ts';
import type { Socket } from 'node:net';
import { defaultRetryStrategy } from '@ttpush/pdu';
import { FakeTimers } from '@ttpush/testkit';
import { Prng } from './helpers/prng.ts';

interface Outcome {
  id: number;
  how: 'resolved' | 'rejected';
  at: number;
}

function table(timers: FakeTimers) {
  const outcomes: Outcome[] = [];
  const pending = new PendingRequests(timers, (r) => failRequest(r, new Error('timeout')));
  const add = (id: number, timeoutMs: number): PendingRequest => {
    const request: PendingRequest = {
      id,
      commandId: 0x0301,
      responseCommand: 0x0301,
      seqNum: id & 0xffff,
      sentAt: timers.now(),
      deadline: timers.now() + timeoutMs,
      timeoutMs,
      resolve: () => outcomes.push({ id, how: 'resolved', at: timers.now() }),
      reject: () => outcomes.push({ id, how: 'rejected', at: timers.now() }),
      batch: undefined,
      tag: 0,
      done: false,
    };
    pending.add(request);
    return request;
  };
  return { pending, add, outcomes };
}

/** Takes request `id` (one of table()'s) and resolves it. */
function answer(pending: PendingRequests, id: number): void {
  pending.take(id)!.resolve!(undefined);
}

describe('PendingRequests', () => {
  it('expires each request exactly at its deadline, whatever order the deadlines were added in', () => {
    const timers = new FakeTimers();
    const { pending, add, outcomes } = table(timers);
    const t0 = timers.now();
    add(1, 500);
    add(2, 100); // shorter than the one before it
    add(3, 500);
    add(4, 300);
    timers.advance(99);
    assert.equal(outcomes.length, 0);
    timers.advance(1000);
    assert.deepEqual(
      outcomes.map((o) => [o.id, o.at - t0]),
      [
        [2, 100],
        [4, 300],
        [1, 500],
        [3, 500],
      ],
    );
    assert.equal(pending.size, 0);
    assert.equal(timers.pendingCount, 0);
  });

  it('takes an answered request out so it never times out, and disarms when empty', () => {
    const timers = new FakeTimers();
    const { pending, add, outcomes } = table(timers);
    add(1, 100);
    add(2, 100);
    answer(pending, 1);
    assert.equal(pending.take(1), undefined, 'a second reply finds nothing');
    timers.advance(100);
    assert.deepEqual(
      outcomes.map((o) => [o.id, o.how]),
      [
        [1, 'resolved'],
        [2, 'rejected'],
      ],
    );
    assert.equal(timers.pendingCount, 0);
    add(3, 50);
    answer(pending, 3);
    assert.equal(timers.pendingCount, 0, 'no timer left once nothing is pending');
  });

  it('finds requests whose ids share a slot of the id table, whatever order they leave in', () => {
    const timers = new FakeTimers();
    const { pending, add, outcomes } = table(timers);
    // 1024 slots to begin with: these ids all fall in slot 5.
    const ids = [5, 5 + 1024, 5 + 2048, 5 + 4096, 6];
    for (const id of ids) add(id, 100);
    assert.equal(pending.size, 5);
    for (const id of ids) assert.equal(pending.get(id)?.id, id);
    assert.equal(pending.free(5 + 8192), false, 'slot 5 is taken');
    assert.equal(pending.free(7), true);
    assert.equal(pending.get(5 + 8192), undefined);
    answer(pending, 5);
    assert.equal(pending.get(5), undefined);
    assert.equal(pending.get(5 + 2048)?.id, 5 + 2048);
    answer(pending, 5 + 2048);
    // Growing the table past half full keeps every request findable.
    for (let id = 10_000; id < 10_700; id++) add(id, 100);
    for (const id of [5 + 1024, 5 + 4096, 6]) assert.equal(pending.get(id)?.id, id);
    timers.advance(100);
    assert.deepEqual(
      outcomes.filter((o) => o.how === 'rejected' && o.id < 10_000).map((o) => o.id),
      [5 + 1024, 5 + 4096, 6],
    );
    assert.equal(pending.size, 0);
  });

  it('keeps a group of batched requests: each member answered, timed out or failed once, by its tag', () => {
    const timers = new FakeTimers();
    const timedOut: PendingRequest[] = [];
    const pending = new PendingRequests(timers, (r) => {
      timedOut.push(r);
      failRequest(r, new Error('timeout'));
    });
    const told: [number, string][] = [];
    const batch = { failed: (tag: number, err: Error) => told.push([tag, err.message]) } as unknown as RequestBatch;
    const group = (first: number, n: number, timeoutMs: number) => {
      const g = new PendingGroup(batch, 0x0301, 0x0301, timers.now(), timers.now() + timeoutMs, timeoutMs, n);
      pending.addGroup(g);
      for (let k = 0; k < n; k++) {
        assert.ok(pending.free(first + k));
        pending.addMember(g, first + k, 100 + first + k, (first + k) & 0xffff);
      }
      return g;
    };
    const a = group(1, 5, 100);
    assert.equal(pending.size, 5);
    // A member found by id, its index given; answered ones are gone.
    assert.equal(pending.group(3), a);
    assert.equal(pending.member, 2);
    pending.settleMember(a, 2);
    assert.equal(pending.group(3), undefined);
    assert.equal(pending.get(3), undefined);
    const taken = pending.take(4)!;
    assert.deepEqual([taken.id, taken.tag, taken.seqNum, taken.batch], [4, 104, 4, batch]);
    assert.equal(pending.take(4), undefined);
    assert.equal(pending.get(5)?.tag, 105);
    timers.advance(99);
    assert.equal(told.length, 0);
    timers.advance(1);
    assert.deepEqual(told, [
      [101, 'timeout'],
      [102, 'timeout'],
      [105, 'timeout'],
    ]);
    assert.deepEqual(
      timedOut.map((r) => [r.id, r.seqNum, r.timeoutMs]),
      [
        [1, 1, 100],
        [2, 2, 100],
        [5, 5, 100],
      ],
    );
    assert.equal(pending.size, 0);
    assert.equal(timers.pendingCount, 0);
    // failAll reaches every member still waiting, and none that was answered.
    // (700 members: the id table grows past its first 1024 slots on the way.)
    const b = group(2000, 700, 1000);
    for (let k = 0; k < 700; k += 3) pending.settleMember(b, k);
    for (let k = 1; k < 700; k += 3) assert.equal(pending.get(2000 + k)?.tag, 2100 + k);
    told.length = 0;
    pending.failAll(new Error('closed'));
    assert.equal(told.length, 466);
    assert.ok(told.every(([tag, msg]) => msg === 'closed' && (tag - 2100) % 3 !== 0));
    assert.equal(pending.size, 0);
    timers.advance(2000);
    assert.equal(told.length, 466);
  });

  it('fails everything at once with failAll', () => {
    const timers = new FakeTimers();
    const { pending, add, outcomes } = table(timers);
    for (let i = 1; i <= 5; i++) add(i, 1000);
    pending.failAll(new Error('closed'));
    assert.equal(outcomes.filter((o) => o.how === 'rejected').length, 5);
    assert.equal(pending.size, 0);
    assert.equal(timers.pendingCount, 0);
    timers.advance(2000);
    assert.equal(outcomes.length, 5);
  });

  it('keeps its books straight over 200,000 requests answered out of order, some never', () => {
    const timers = new FakeTimers();
    const { pending, add, outcomes } = table(timers);
    const rng = new Prng(99);
    const open: number[] = [];
    const dropped = new Set<number>();
    for (let id = 1; id <= 200_000; id++) {
      add(id, 5000);
      if (rng.next() < 0.001) dropped.add(id);
      else open.push(id);
      // Answer a random earlier request now and then, and let the clock run.
      while (open.length > 50) {
        const k = rng.int(0, open.length - 1);
        const answered = open[k]!;
        open[k] = open[open.length - 1]!;
        open.pop();
        answer(pending, answered);
      }
      if (id % 100 === 0) timers.advance(1);
    }
    for (const id of open) answer(pending, id);
    timers.advance(10_000);
    const rejected = outcomes.filter((o) => o.how === 'rejected').map((o) => o.id);
    assert.deepEqual(new Set(rejected), dropped);
    assert.equal(outcomes.length, 200_000);
    assert.equal(pending.size, 0);
    assert.equal(timers.pendingCount, 0);
  });
});

describe('Keepalive', () => {
  function keepalive(timers: FakeTimers) {
    const events: string[] = [];
    const k = new Keepalive({
      timers,
      heartbeatIntervalMs: 5000,
      deadAfterMs: 30_000,
      sendHeartbeat: () => events.push(`beat@${timers.now()}`),
      onDead: (idle) => events.push(`dead after ${idle}`),
    });
    return { k, events };
  }

  it('sends a heartbeat every interval and declares death after exactly deadAfterMs of silence', () => {
    const timers = new FakeTimers();
    const t0 = timers.now();
    const { k, events } = keepalive(timers);
    k.start();
    timers.advance(29_999);
    assert.equal(events.filter((e) => e.startsWith('beat')).length, 5);
    assert.ok(!events.some((e) => e.startsWith('dead')));
    timers.advance(1);
    assert.equal(events.at(-1), 'dead after 30000');
    assert.equal(k.running, false);
    assert.equal(timers.pendingCount, 0);
    assert.equal(events[0], `beat@${t0 + 5000}`);
  });

  it('counts any received byte as life', () => {
    const timers = new FakeTimers();
    const { k, events } = keepalive(timers);
    k.start();
    for (let i = 0; i < 10; i++) {
      timers.advance(29_000);
      k.touch();
    }
    assert.ok(!events.some((e) => e.startsWith('dead')));
    timers.advance(30_000);
    assert.equal(events.at(-1), 'dead after 30000');
  });

  it('stops every timer on stop()', () => {
    const timers = new FakeTimers();
    const { k } = keepalive(timers);
    k.start();
    k.stop();
    assert.equal(timers.pendingCount, 0);
  });
});

describe('defaultRetryStrategy', () => {
  it('backs off exponentially from 100 ms to a 5 s cap, within ±20%', () => {
    for (let attempt = 1; attempt <= 12; attempt++) {
      const base = Math.min(100 * 2 ** (attempt - 1), 5000);
      for (let i = 0; i < 50; i++) {
        const delay = defaultRetryStrategy(attempt);
        assert.ok(delay !== null && delay >= base * 0.8 - 1 && delay <= base * 1.2 + 1, `attempt ${attempt}: ${delay}`);
      }
    }
  });
});

describe('ConnectionWriter', () => {
  /** A socket that records what it is handed, in order, and always takes more. */
  function recordingSocket() {
    const written: Buffer[] = [];
    const socket = {
      writableLength: 0,
      on: () => socket,
      off: () => socket,
      write: (b: Buffer) => {
        written.push(b);
        return true;
      },
    };
    return { socket: socket as unknown as Socket, written };
  }

  it('hands a tick of writes to the socket at once, in order; pieces end to end in one memory without a copy', async () => {
    const { socket, written } = recordingSocket();
    const w = new ConnectionWriter(1 << 20, () => undefined);
    w.attach(socket);
    const slab = Buffer.from('abcdefghij');
    const other = Buffer.from('XYZ');
    for (const b of [slab.subarray(0, 3), slab.subarray(3, 4), slab.subarray(4, 8), other, slab.subarray(8, 10)]) {
      w.write(b);
    }
    await new Promise((r) => setImmediate(r));
    assert.equal(written.length, 1);
    assert.equal(written[0]!.toString(), 'abcdefghXYZij');
    // Adjacent pieces alone: one view of the same memory (what changes there shows through).
    w.write(slab.subarray(0, 2));
    w.write(slab.subarray(2, 5));
    await new Promise((r) => setImmediate(r));
    assert.equal(written[1]!.toString(), 'abcde');
    assert.equal(written[1]!.buffer, slab.buffer);
    // Out of order in memory: copied, in the order written.
    w.write(slab.subarray(5, 7));
    w.write(slab.subarray(0, 2));
    await new Promise((r) => setImmediate(r));
    assert.equal(written[2]!.toString(), 'fgab');
    w.detach();
  });
});
