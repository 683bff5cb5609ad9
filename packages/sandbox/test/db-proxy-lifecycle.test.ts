/**
 * db_proxy_server contract, connection life and faults: heartbeats and the 30 s timeout (on an
 * injected clock), OTHER_STOP_RECV_PACKET, the fault switches, restarts, in-flight accounting,
 * reply delays and realistic mode.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CommandId, decodeBody, encodeFrame, encodePdu, im, type Frame } from '@ttpush/pdu';
import { FakeTimers, RawClient, pduVector } from '@ttpush/testkit';
import { REALISTIC_LATENCY, seededRandom } from '../src/index.ts';
import { eventually, sandboxFor } from './helpers/sandbox.ts';
import { hex, msgData, seqs } from './helpers/messages.ts';

const isMsgData = (f: Frame) => f.commandId === CommandId.MSG_DATA;
const latestReq = (seq: number) =>
  encodePdu(
    CommandId.MSG_GET_LATEST_MSG_ID_REQ,
    { userId: 1, sessionType: im.SessionType.SESSION_TYPE_SINGLE, sessionId: 2 },
    seq,
  );

describe('db_proxy connection life', () => {
  it('sends IMHeartBeat on a connection idle for 5 s', async (t) => {
    const timers = new FakeTimers();
    const { sandbox, connect } = await sandboxFor(t, { timers });
    const c = await connect(sandbox.dbProxy.port);
    await eventually(() => sandbox.dbProxy.connections === 2, 'the client to be accepted');
    timers.advance(4000);
    assert.equal(await c.receives(() => true, 50), false, 'nothing before 5 s');
    timers.advance(1000);
    const hb = await c.next();
    assert.equal(hex(encodeFrame(hb, hb.body)), hex(pduVector('heartbeat').bytes));
  });

  it('closes a connection silent for 30 s and keeps one that keeps talking', async (t) => {
    const timers = new FakeTimers();
    const { sandbox, connect } = await sandboxFor(t, { timers });
    const silent = await connect(sandbox.dbProxy.port);
    const talking = await connect(sandbox.dbProxy.port);
    await eventually(() => sandbox.dbProxy.connections === 3, 'both clients to be accepted');
    for (let i = 0; i < 8; i++) {
      talking.sendRaw(latestReq(i + 1));
      await talking.next((f) => f.commandId === CommandId.MSG_GET_LATEST_MSG_ID_RSP);
      timers.advance(5000);
    }
    await silent.waitClosed();
    assert.equal(talking.closed, false);
    talking.sendRaw(latestReq(100));
    await talking.next((f) => f.commandId === CommandId.MSG_GET_LATEST_MSG_ID_RSP && f.seqNum === 100);
  });

  it('sends OTHER_STOP_RECV_PACKET to every connection, still answers requests in flight, then stops', async (t) => {
    const timers = new FakeTimers();
    const { sandbox, connect } = await sandboxFor(t, { timers });
    const db = sandbox.dbProxy;
    const a = await connect(db.port);
    const b = await connect(db.port);
    db.setFault({ delayMs: 1000 });
    a.send(CommandId.MSG_DATA, msgData({ from: 1, to: 2 }), 5);
    await eventually(() => db.inFlight === 1, 'the request to arrive');
    const stopped = db.sendStopReceivePacket({ stopAfterMs: 4000 });
    for (const c of [a, b]) {
      const { body } = await c.nextBody(CommandId.OTHER_STOP_RECV_PACKET);
      assert.equal(body.result, 0);
    }
    timers.advance(1000);
    const reply = await a.next(isMsgData);
    assert.equal(reply.seqNum, 5);
    assert.deepEqual(
      a.received.map((f) => f.commandId),
      [CommandId.OTHER_STOP_RECV_PACKET, CommandId.MSG_DATA],
    );
    timers.advance(3000);
    await stopped;
    await a.waitClosed();
    await b.waitClosed();
    assert.equal(db.listening, false);
    const port = db.port;
    await db.start();
    assert.equal(db.port, port, 'restarts on the same port');
    const c = await connect(db.port);
    db.setFault({});
    c.send(CommandId.MSG_DATA, msgData({ from: 1, to: 2 }), 6);
    assert.equal(
      decodeBody(CommandId.MSG_DATA, (await c.next(isMsgData)).body).msgId,
      2,
      'the store survives a restart',
    );
  });

  it('stops answering under the noReply fault and answers again once it is cleared', async (t) => {
    const { sandbox, connect } = await sandboxFor(t);
    const db = sandbox.dbProxy;
    const c = await connect(db.port);
    db.setFault({ noReply: true });
    c.send(CommandId.MSG_DATA, msgData({ from: 1, to: 2 }), 1);
    c.sendRaw(latestReq(2));
    await eventually(() => db.stats.dropped === 2, 'both requests to be dropped');
    db.setFault({});
    c.send(CommandId.MSG_DATA, msgData({ from: 1, to: 2 }), 3);
    const reply = await c.next(isMsgData);
    assert.equal(decodeBody(CommandId.MSG_DATA, reply.body).msgId, 1, 'the dropped request was not stored');
    assert.deepEqual(seqs(c.received), [3]);
    assert.equal(db.inFlight, 0);
  });

  it('holds replies for delayMs under the delay fault', async (t) => {
    const timers = new FakeTimers();
    const { sandbox, connect } = await sandboxFor(t, { timers });
    const db = sandbox.dbProxy;
    const c = await connect(db.port);
    db.setFault({ delayMs: 500 });
    c.send(CommandId.MSG_DATA, msgData({ from: 1, to: 2 }), 1);
    await eventually(() => db.inFlight === 1, 'the request to arrive');
    timers.advance(499);
    assert.equal(db.stats.replies, 0);
    timers.advance(1);
    assert.equal(db.stats.replies, 1);
    assert.equal((await c.next(isMsgData)).seqNum, 1);
  });

  it('a parked thread: its share of requests of every kind is never answered nor stored; clearing the fault heals it', async (t) => {
    const { sandbox, connect } = await sandboxFor(t, { random: seededRandom(7), relationRace: false });
    const db = sandbox.dbProxy;
    const c = await connect(db.port);
    db.setFault({ threads: 4, parkedThreads: 1 });
    const n = 400;
    for (let i = 1; i <= n; i++) {
      if (i % 2 === 0) c.send(CommandId.MSG_DATA, msgData({ from: 1, to: 2, text: `m${i}` }), i);
      else c.sendRaw(latestReq(i));
    }
    await eventually(() => db.stats.replies + db.stats.parked === n, 'every request answered or parked');
    await eventually(() => c.received.length === db.stats.replies, 'every reply received');
    // About one in four, of both kinds.
    assert.ok(db.stats.parked > n / 8 && db.stats.parked < (n * 3) / 8, `${db.stats.parked} parked`);
    const answered = new Set(c.received.map((f) => f.seqNum));
    const parkedStores = Array.from({ length: n / 2 }, (_, k) => 2 * (k + 1)).filter((seq) => !answered.has(seq));
    const parkedReads = Array.from({ length: n / 2 }, (_, k) => 2 * k + 1).filter((seq) => !answered.has(seq));
    assert.ok(parkedStores.length > 0 && parkedReads.length > 0);
    // Only answered stores are stored.
    assert.equal(sandbox.store.singleMessages(1, 2).length, n / 2 - parkedStores.length);
    assert.equal(db.inFlight, 0);
    db.setFault({});
    c.sendRaw(latestReq(n + 1));
    await c.next((f) => f.seqNum === n + 1);
  });

  it('store late: the row appears delayMs later, after the reply deadline, even when the connection is gone', async (t) => {
    const timers = new FakeTimers();
    const { sandbox, connect } = await sandboxFor(t, { timers });
    const db = sandbox.dbProxy;
    const c = await connect(db.port);
    db.setFault({ storeLate: { delayMs: 3000 } });
    c.send(CommandId.MSG_DATA, msgData({ from: 1, to: 2 }), 1);
    c.sendRaw(latestReq(2));
    // Reads are answered at once, and see nothing stored yet.
    const latest = await c.next((f) => f.commandId === CommandId.MSG_GET_LATEST_MSG_ID_RSP);
    assert.equal(decodeBody(CommandId.MSG_GET_LATEST_MSG_ID_RSP, latest.body).latestMsgId, 0);
    assert.equal(db.stats.storedLate, 1);
    db.closeAllConnections();
    await c.waitClosed();
    timers.advance(2999);
    assert.equal(sandbox.store.singleMessages(1, 2).length, 0);
    timers.advance(1);
    assert.equal(sandbox.store.singleMessages(1, 2).length, 1);
    assert.equal(db.inFlight, 0);
  });

  it('closes every connection on closeAllConnections and keeps listening', async (t) => {
    const { sandbox, connect } = await sandboxFor(t);
    const db = sandbox.dbProxy;
    const a = await connect(db.port);
    db.closeAllConnections();
    await a.waitClosed();
    const b = await connect(db.port);
    b.sendRaw(latestReq(1));
    await b.next((f) => f.commandId === CommandId.MSG_GET_LATEST_MSG_ID_RSP);
  });

  it('accepts and closes new connections while refusing, leaving open ones alone', async (t) => {
    const { sandbox, connect } = await sandboxFor(t);
    const db = sandbox.dbProxy;
    const open = await connect(db.port);
    db.refuseConnections(true);
    const refused = await connect(db.port);
    await refused.waitClosed();
    open.sendRaw(latestReq(1));
    await open.next((f) => f.commandId === CommandId.MSG_GET_LATEST_MSG_ID_RSP);
    db.refuseConnections(false);
    const again = await connect(db.port);
    again.sendRaw(latestReq(2));
    await again.next((f) => f.commandId === CommandId.MSG_GET_LATEST_MSG_ID_RSP);
  });

  it('refuses TCP connections while stopped and listens again on the same port after start', async (t) => {
    const { sandbox, connect } = await sandboxFor(t);
    const db = sandbox.dbProxy;
    const port = db.port;
    await db.stop();
    await assert.rejects(RawClient.connect(port), { code: 'ECONNREFUSED' });
    await db.start();
    assert.equal(db.port, port);
    const c = await connect(port);
    c.sendRaw(latestReq(1));
    await c.next((f) => f.commandId === CommandId.MSG_GET_LATEST_MSG_ID_RSP);
  });
});

describe('db_proxy observation and latency', () => {
  it('reports each request and the requests in flight per connection and per conversation', async (t) => {
    const timers = new FakeTimers();
    const { sandbox, connect } = await sandboxFor(t, { timers });
    const db = sandbox.dbProxy;
    const seen: [number, unknown][] = [];
    db.on('request', (commandId, body) => seen.push([commandId, body]));
    const c = await connect(db.port);
    db.setFault({ delayMs: 100 });
    const burst = [
      ...Array.from({ length: 10 }, (_, i) => encodePdu(CommandId.MSG_DATA, msgData({ from: 1, to: 2 }), i + 1)),
      ...Array.from({ length: 5 }, (_, i) => encodePdu(CommandId.MSG_DATA, msgData({ from: 3, to: 4 }), i + 11)),
    ];
    c.sendRaw(Buffer.concat(burst));
    await eventually(() => seen.length === 15, 'fifteen requests');
    assert.equal(db.inFlight, 15);
    assert.equal(db.stats.maxInFlight, 15);
    assert.equal(db.stats.maxInFlightPerConnection, 15);
    assert.equal(db.stats.maxInFlightPerConversation, 10);
    assert.equal(db.connectionList().find((x) => x.inFlight > 0)?.inFlight, 15);
    const [cmd, body] = seen[0]!;
    assert.equal(cmd, CommandId.MSG_DATA);
    assert.equal((body as im.IMMsgData).fromUserId, 1);
    timers.advance(100);
    assert.equal(db.inFlight, 0);
    assert.equal(db.stats.replies, 15);
    await c.collect(15, isMsgData);
    db.resetStats();
    assert.equal(db.stats.maxInFlight, 0);
  });

  it('delays each reply by up to reorderDelayMs and shuffles them', async (t) => {
    const timers = new FakeTimers();
    const { sandbox, connect } = await sandboxFor(t, { timers, reorderDelayMs: 50, random: seededRandom(3) });
    const db = sandbox.dbProxy;
    const c = await connect(db.port);
    c.sendRaw(
      Buffer.concat(
        Array.from({ length: 20 }, (_, i) => encodePdu(CommandId.MSG_DATA, msgData({ from: 10 + i, to: 99 }), i + 1)),
      ),
    );
    await eventually(() => db.inFlight === 20, 'twenty requests');
    assert.equal(db.stats.replies, 0);
    timers.advance(50);
    assert.equal(db.stats.replies, 20);
    const order = seqs(await c.collect(20, isMsgData));
    assert.notDeepEqual(
      order,
      [...order].sort((a, b) => a - b),
    );
  });

  it('has a ~10 ms floor per reply and a ~2.8k/s ceiling in realistic mode', async (t) => {
    const timers = new FakeTimers();
    const { sandbox, connect } = await sandboxFor(t, { timers, realistic: true });
    const db = sandbox.dbProxy;
    const c = await connect(db.port);
    c.send(CommandId.MSG_DATA, msgData({ from: 1, to: 2 }), 1);
    await eventually(() => db.inFlight === 1, 'the request');
    timers.advance(REALISTIC_LATENCY.floorMs - 1);
    assert.equal(db.stats.replies, 0, 'nothing under the floor');
    timers.advance(1 + REALISTIC_LATENCY.jitterMs);
    assert.equal(db.stats.replies, 1);

    c.sendRaw(
      Buffer.concat(
        Array.from({ length: 100 }, (_, i) => encodePdu(CommandId.MSG_DATA, msgData({ from: 100 + i, to: 1 }), i + 2)),
      ),
    );
    await eventually(() => db.inFlight === 100, 'a hundred requests');
    timers.advance(30);
    const ceiling = Math.ceil((REALISTIC_LATENCY.perSecond * (30 - REALISTIC_LATENCY.floorMs)) / 1000) + 1;
    assert.ok(db.stats.replies - 1 <= ceiling, `${db.stats.replies - 1} replies in 30 ms exceed the ceiling`);
    assert.ok(db.stats.replies - 1 > 0);
    timers.advance(100);
    assert.equal(db.stats.replies, 101);
    await c.collect(101, isMsgData);
  });
});
