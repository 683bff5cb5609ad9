// A chunk window's handling of replies and failures, without a TeamTalk: what it records per recipient, what it
// forwards (in one buffer per burst, the bodies forward() would encode), and the reply that is not the message as
// sent (decoded in full, forwarded as the reply says), as the per-message path handles every reply.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandId, ConnectionError, decodeBody, encodeBody, type BodyWriter } from '@ttpush/pdu';
import { ChunkResults, RESULT_FAILED, RESULT_SENT } from '@ttpush/store';
import type { Recipient } from '@ttpush/contract';
import { ChunkWindow, chunkWire } from '../src/chunk-window.ts';
import { newSendRound, type ChunkTarget } from '../src/chunk-sender.ts';
import type { StoredMessage, TeamTalk } from '../src/teamtalk.ts';
import { WorkerStats } from '../src/stats.ts';

const TEXT = Buffer.from('c2hhcmVkIHRleHQ=', 'latin1');
const OWN = Buffer.from('b3duIHRleHQ=', 'latin1');
const CREATED = 1_800_000_000;

function setup(to: Recipient[], msgData: Buffer[], routed = true) {
  const forwardedBodies: Buffer[] = [];
  const forwardedOne: StoredMessage[] = [];
  let bursts = 0;
  const tt = {
    forwardBatch(bodies: BodyWriter, tags: ArrayLike<number>, n: number): boolean {
      bursts++;
      if (!routed) return false;
      for (let k = 0; k < n; k++) {
        const out = Buffer.alloc(bodies.bodyLength(tags[k]!));
        bodies.writeBody(tags[k]!, out, 0);
        forwardedBodies.push(out);
      }
      return true;
    },
    forward(m: StoredMessage): boolean {
      forwardedOne.push({ ...m, msgData: Buffer.from(m.msgData) });
      return routed;
    },
  } as unknown as TeamTalk;
  const t: ChunkTarget = {
    from: 1001,
    to,
    msgData,
    createTime: CREATED,
    results: new ChunkResults(to.length),
    dueAt: Date.now(),
  };
  const round = newSendRound();
  const w = new ChunkWindow(tt, new WorkerStats(), t, chunkWire(t), round);
  return { w, t, round, forwardedBodies, forwardedOne, bursts: () => bursts };
}

/** The request chunk index i would send, and db_proxy's reply to it (msg_id set, attach_data echoed). */
function exchange(w: ChunkWindow, i: number, msgId: number, edit?: (m: Record<string, unknown>) => void) {
  const body = Buffer.alloc(w.bodyLength(i));
  w.writeBody(i, body, 0);
  const req = decodeBody(CommandId.MSG_DATA, body);
  const reply: Record<string, unknown> = { ...req, msgId, attachData: Buffer.from('0102030405060708', 'hex') };
  edit?.(reply);
  const bytes = Buffer.concat([Buffer.from([9, 9]), Buffer.from(encodeBody(CommandId.MSG_DATA, reply as never))]);
  return { req, bytes };
}

test('requests are the messages the chunk sends: its sender, time, each recipient and text, msg_id 0', () => {
  const to: Recipient[] = [{ user: 2 }, { group: 700 }, { user: 300_000 }];
  const { w } = setup(to, [TEXT, TEXT, OWN]);
  const reqs = [0, 1, 2].map((i) => exchange(w, i, 1).req);
  assert.deepEqual(
    reqs.map((r) => [r.fromUserId, r.toSessionId, r.msgId, r.createTime, r.msgType, Buffer.from(r.msgData)]),
    [
      [1001, 2, 0, CREATED, 1, TEXT],
      [1001, 700, 0, CREATED, 17, TEXT],
      [1001, 300_000, 0, CREATED, 1, OWN],
    ],
  );
});

test('stored replies are recorded sent and forwarded once per burst; msg_id 0 is a refusal, never forwarded', async () => {
  const to: Recipient[] = [{ user: 2 }, { user: 3 }, { group: 700 }, { user: 5 }];
  const { w, t, round, forwardedBodies, bursts } = setup(to, [TEXT, TEXT, TEXT, OWN]);
  w.inFlight = 4;
  for (const [i, msgId] of [
    [0, 11],
    [1, 0],
    [2, 13],
    [3, 14],
  ] as const) {
    const { bytes } = exchange(w, i, msgId);
    assert.equal(w.read(i, bytes, 2, bytes.length), true);
    w.replied(i);
  }
  assert.equal(w.inFlight, 0);
  await Promise.resolve();
  assert.equal(bursts(), 1);
  assert.deepEqual([...t.results.states], [RESULT_SENT, RESULT_FAILED, RESULT_SENT, RESULT_SENT]);
  assert.deepEqual(t.results.values, [11, 'teamtalk_rejected', 13, 14]);
  // Each forward is what forward() encodes from the stored message: db_proxy's msg_id, no attach_data.
  assert.deepEqual(
    forwardedBodies.map((b) => b.toString('hex')),
    [
      [0, 11, 2, 1, TEXT],
      [2, 13, 700, 17, TEXT],
      [3, 14, 5, 1, OWN],
    ].map(([, msgId, toId, type, data]) =>
      Buffer.from(
        encodeBody(CommandId.MSG_DATA, {
          fromUserId: 1001,
          toSessionId: toId as number,
          msgId: msgId as number,
          createTime: CREATED,
          msgType: type as number,
          msgData: data as Buffer,
        }),
      ).toString('hex'),
    ),
  );
  assert.equal(round.unrouted, 0);
});

test('a reply that is not the message as sent is decoded and handled as the reply says', () => {
  const { w, t, forwardedOne, forwardedBodies } = setup([{ user: 2 }, { user: 3 }], [TEXT, TEXT]);
  w.inFlight = 2;
  const other = Buffer.from('b3RoZXI=', 'latin1');
  const a = exchange(w, 0, 21, (m) => (m.msgData = other)).bytes;
  assert.equal(w.read(0, a, 2, a.length), true);
  w.replied(0);
  const b = exchange(w, 1, 0, (m) => (m.createTime = CREATED + 1)).bytes;
  assert.equal(w.read(1, b, 2, b.length), true);
  w.replied(1);
  assert.deepEqual(t.results.values, [21, 'teamtalk_rejected']);
  assert.deepEqual(
    forwardedOne.map((m) => [m.toSessionId, m.msgId, Buffer.from(m.msgData)]),
    [[2, 21, other]],
  );
  w.flushForwards();
  assert.equal(forwardedBodies.length, 0);
  // A reply that does not parse is left alone (its request times out): read() says so.
  const junk = Buffer.from([0x0a, 0xff]);
  assert.equal(w.read(0, junk, 0, junk.length), false);
});

test('failures are sorted as the per-message path sorts them; without route_server the stored count as unrouted', async () => {
  const to: Recipient[] = [{ user: 2 }, { user: 3 }, { user: 4 }, { user: 5 }, { user: 6 }];
  const { w, round } = setup(to, [TEXT, TEXT, TEXT, TEXT, TEXT], false);
  w.inFlight = 5;
  const address = '127.0.0.1:1';
  w.failed(0, new ConnectionError('REQUEST_TIMEOUT', 'x', { address, answeredMeanwhile: true }));
  w.failed(1, new ConnectionError('CONN_CLOSED', 'x', { address }));
  w.failed(2, new ConnectionError('CONN_NOT_READY', 'x', { address: '127.0.0.1:2' }));
  const waiting = w.below(0);
  for (const i of [3, 4]) {
    const { bytes } = exchange(w, i, 30 + i);
    w.read(i, bytes, 2, bytes.length);
    w.replied(i);
  }
  await waiting;
  w.flushForwards();
  assert.deepEqual([round.noReply, round.uncertain, round.notSent], [[0], [1], [2]]);
  assert.deepEqual([...round.addresses], [address]);
  assert.equal(round.alive, true);
  assert.equal(round.unrouted, 2);
});
