/**
 * route_server contract (notes §7): relays to the other connections (or to all for 0x0215)
 * without decoding, records IMRoleSet, never answers, heartbeats, and only a framing fault closes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CommandId, encodeFrame, encodePdu, frameBytes } from '@ttpush/pdu';
import { FakeTimers, pduVector } from '@ttpush/testkit';
import { ROUTE_TO_OTHERS } from '../src/index.ts';
import { eventually, sandboxFor } from './helpers/sandbox.ts';
import { hex, msgData } from './helpers/messages.ts';

const SIGN_INFO_CHANGED = 0x0215;

describe('route_server', () => {
  it('re-sends MSG_DATA byte for byte to every other connection, never to the sender, and never answers', async (t) => {
    const { sandbox, connect } = await sandboxFor(t);
    const [a, b, c] = [
      await connect(sandbox.route.port),
      await connect(sandbox.route.port),
      await connect(sandbox.route.port),
    ];
    await eventually(() => sandbox.route.connections === 4, 'three clients and msg_server');
    const pdu = encodePdu(CommandId.MSG_DATA, msgData({ from: 1, to: 2, attach: Buffer.from('gw') }), 77);
    a.sendRaw(pdu);
    for (const peer of [b, c]) {
      const f = await peer.next();
      assert.equal(hex(encodeFrame(f, f.body)), hex(pdu));
      assert.equal(f.seqNum, 77);
    }
    // 0x0215 goes to everyone, the sender included: it arrives after anything sent to `a` before it.
    a.sendRaw(encodeFrame({ commandId: SIGN_INFO_CHANGED, seqNum: 78 }, Buffer.from('0801', 'hex')));
    await a.next((f) => f.commandId === SIGN_INFO_CHANGED);
    assert.deepEqual(
      a.received.map((f) => f.commandId),
      [SIGN_INFO_CHANGED],
    );
    assert.equal((await b.next()).commandId, SIGN_INFO_CHANGED);
    assert.equal(sandbox.route.stats.relayed, 2);
  });

  it('relays each notify it routes, as received (version, flag, reserved and garbage bodies included)', async (t) => {
    const { sandbox, connect } = await sandboxFor(t);
    const a = await connect(sandbox.route.port);
    const b = await connect(sandbox.route.port);
    await eventually(() => sandbox.route.connections === 3, 'two clients and msg_server');
    const sent: string[] = [];
    for (const cmd of ROUTE_TO_OTHERS) {
      const pdu = Buffer.concat([Buffer.alloc(16), Buffer.from('garbage \u0000 body')]);
      pdu.writeUInt32BE(pdu.length, 0);
      pdu.writeUInt16BE(7, 4);
      pdu.writeUInt16BE(0x55, 6);
      pdu.writeUInt16BE(cmd >>> 8, 8);
      pdu.writeUInt16BE(cmd, 10);
      pdu.writeUInt16BE(3, 12);
      pdu.writeUInt16BE(0x99, 14);
      sent.push(hex(pdu));
      a.sendRaw(pdu);
    }
    const got = await b.collect(ROUTE_TO_OTHERS.size);
    assert.deepEqual(
      got.map((f) => hex(frameBytes(f))),
      sent,
    );
  });

  it('ignores commands it does not route', async (t) => {
    const { sandbox, connect } = await sandboxFor(t);
    const a = await connect(sandbox.route.port);
    const b = await connect(sandbox.route.port);
    await eventually(() => sandbox.route.connections === 3, 'two clients and msg_server');
    a.sendRaw(encodeFrame({ commandId: 0x0999, seqNum: 1 }, Buffer.from('x')));
    a.sendRaw(encodePdu(CommandId.MSG_GET_LATEST_MSG_ID_REQ, { userId: 1, sessionType: 1, sessionId: 2 }, 2));
    a.sendRaw(encodeFrame({ commandId: SIGN_INFO_CHANGED, seqNum: 3 }, Buffer.alloc(0)));
    const f = await b.next();
    assert.equal(f.seqNum, 3, 'the ignored frames were not relayed ahead of it');
    assert.equal(sandbox.route.stats.ignored, 2);
  });

  it('records the IMRoleSet each peer announces', async (t) => {
    const { sandbox, connect } = await sandboxFor(t);
    const a = await connect(sandbox.route.port);
    const b = await connect(sandbox.route.port);
    a.send(CommandId.OTHER_ROLE_SET, { master: 1 });
    b.send(CommandId.OTHER_ROLE_SET, { master: 0 });
    await eventually(() => sandbox.route.roles().filter((r) => r.master !== undefined).length === 2, 'two roles');
    const roles = sandbox.route.roles();
    const byRemote = new Map(roles.map((r) => [r.remote, r.master]));
    assert.equal(byRemote.get(`127.0.0.1:${a.socket.localPort}`), 1);
    assert.equal(byRemote.get(`127.0.0.1:${b.socket.localPort}`), 0);
    assert.equal(roles.length, 3, 'msg_server never announced one');
    assert.equal(roles.filter((r) => r.master === undefined).length, 1);
  });

  it('drops relays under the noReply fault', async (t) => {
    const { sandbox, connect } = await sandboxFor(t);
    const a = await connect(sandbox.route.port);
    const b = await connect(sandbox.route.port);
    await eventually(() => sandbox.route.connections === 3, 'two clients and msg_server');
    sandbox.route.setFault({ noReply: true });
    a.sendRaw(encodePdu(CommandId.MSG_DATA, msgData({ from: 1, to: 2 }), 1));
    await eventually(() => sandbox.route.stats.dropped === 1, 'the relay to be dropped');
    sandbox.route.setFault({});
    a.sendRaw(encodePdu(CommandId.MSG_DATA, msgData({ from: 1, to: 2 }), 2));
    assert.equal((await b.next()).seqNum, 2);
    assert.deepEqual(
      b.received.map((f) => f.seqNum),
      [2],
    );
  });

  it('heartbeats an idle connection, closes a silent one after 30 s, and closes on a framing fault only that one', async (t) => {
    const timers = new FakeTimers();
    const { sandbox, connect } = await sandboxFor(t, { timers });
    const a = await connect(sandbox.route.port);
    const b = await connect(sandbox.route.port);
    await eventually(() => sandbox.route.connections === 3, 'two clients and msg_server');
    timers.advance(5000);
    const hb = await a.next();
    assert.equal(hex(encodeFrame(hb, hb.body)), hex(pduVector('heartbeat').bytes));
    b.sendRaw(Buffer.from('0000000c00010000', 'hex'));
    await b.waitClosed();
    assert.equal(a.closed, false);
    timers.advance(25_000);
    await a.waitClosed();
  });
});
