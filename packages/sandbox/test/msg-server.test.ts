/**
 * msg_server contract (notes §8): logins, client-sent MSG_DATA (ACK, forward, push), messages
 * from route_server pushed to the users' connections, group fan-out, heartbeats and timeouts,
 * and its own links to db_proxy and route surviving restarts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CommandId, decodeBody, encodeFrame, encodePdu, im, type Frame } from '@ttpush/pdu';
import { FakeTimers, pduVector, type RawClient } from '@ttpush/testkit';
import { MAX_MSG_PER_SECOND } from '../src/index.ts';
import { eventually, sandboxFor } from './helpers/sandbox.ts';
import { GROUP_TEXT, hex, msgData, seqs } from './helpers/messages.ts';

const ANDROID = im.ClientType.CLIENT_TYPE_ANDROID;
const MAC = im.ClientType.CLIENT_TYPE_MAC;
const isAck = (f: Frame) => f.commandId === CommandId.MSG_DATA_ACK;
const isMsg = (f: Frame) => f.commandId === CommandId.MSG_DATA;
const bytes = (f: Frame) => hex(encodeFrame(f, f.body));
/** The clock second of the recorded msg_server answers. */
const RECORDED_SECOND = 1_795_870_963;

/** Sends a probe message and waits for its ACK: anything the sender would have got before has arrived. */
async function probe(c: RawClient, to: number, seq: number): Promise<void> {
  c.send(CommandId.MSG_DATA, msgData({ from: 0, to, text: 'probe' }), seq);
  await c.next((f) => isAck(f) && f.seqNum === seq);
}

describe('msg_server logins', () => {
  it('answers a login byte for byte as the real msg_server does, user_info included', async (t) => {
    const timers = new FakeTimers(RECORDED_SECOND * 1000);
    const { sandbox, connect } = await sandboxFor(t, { timers });
    const c = await connect(sandbox.msgServer.port);
    c.send(
      CommandId.LOGIN_REQ_USERLOGIN,
      {
        userName: '2',
        password: 'e10adc3949ba59abbe56e057f20f883e',
        onlineStatus: 1,
        clientType: 1,
        clientVersion: 'x',
      },
      1,
    );
    const f = await c.next();
    assert.equal(bytes(f), hex(pduVector('login_ok').bytes));
    assert.deepEqual(sandbox.msgServer.onlineUsers(), [{ userId: 2, connections: 1 }]);
  });

  it('refuses a name that is not a decimal user id with DB_VALIDATE_FAILED and closes', async (t) => {
    const { sandbox, connect } = await sandboxFor(t);
    for (const name of ['alice', '0', '4294967296', '']) {
      const c = await connect(sandbox.msgServer.port);
      const res = await c.login(name);
      assert.equal(res.resultCode, im.ResultType.REFUSE_REASON_DB_VALIDATE_FAILED, name);
      await c.waitClosed();
    }
    assert.equal(sandbox.msgServer.stats.loginFailures, 4);
  });

  it('refuses logins with NO_DB_SERVER while db_proxy is down, and accepts them once it is back', async (t) => {
    const { sandbox, connect, login } = await sandboxFor(t);
    await sandbox.dbProxy.stop();
    await eventually(() => sandbox.msgServer.upstream.db !== 'ready', 'msg_server to lose db_proxy');
    const c = await connect(sandbox.msgServer.port);
    assert.equal((await c.login(1)).resultCode, im.ResultType.REFUSE_REASON_NO_DB_SERVER);
    await c.waitClosed();
    await sandbox.dbProxy.start();
    await sandbox.msgServer.waitUpstream();
    const a = await login(1);
    await probe(a, 2, 9);
  });

  it('ignores MSG_DATA before login and a second login on the same connection', async (t) => {
    const { sandbox, connect } = await sandboxFor(t);
    const c = await connect(sandbox.msgServer.port);
    c.send(CommandId.MSG_DATA, msgData({ from: 1, to: 2 }), 1);
    assert.equal((await c.login(1)).resultCode, 0);
    c.send(CommandId.LOGIN_REQ_USERLOGIN, { userName: '3', password: '', onlineStatus: 1, clientType: 1 }, 2);
    await probe(c, 2, 3);
    assert.deepEqual(seqs(c.received), [1, 3], 'only the first login answer and the probe ACK');
    assert.equal(sandbox.store.count(), 1);
  });

  it('echoes a client heartbeat', async (t) => {
    const { login } = await sandboxFor(t);
    const c = await login(1);
    c.send(CommandId.OTHER_HEARTBEAT, {}, 0);
    const f = await c.next();
    assert.equal(bytes(f), hex(pduVector('heartbeat').bytes));
  });
});

describe('msg_server client messages', () => {
  it('ACKs the sender and pushes to the recipient and the sender’s other connections, byte for byte', async (t) => {
    const timers = new FakeTimers(RECORDED_SECOND * 1000);
    const { sandbox, connect, login } = await sandboxFor(t, { timers });
    // Eleven earlier messages between users 1 and 2 make the next msg_id 12, as in the recording.
    const db = await connect(sandbox.dbProxy.port);
    for (let i = 1; i <= 11; i++) {
      db.send(CommandId.MSG_DATA, msgData({ from: 1, to: 2 }), i);
      await db.next((f) => isMsg(f) && f.seqNum === i);
    }
    const route = await connect(sandbox.route.port);
    const sender = await login(1);
    const senderMac = await login(1, MAC);
    const recipient = await login(2);
    const other = await login(3);
    const recorded = decodeBody(CommandId.MSG_DATA, pduVector('msg_data_push').bytes.subarray(16));
    // from_user_id, create_time and attach_data are the client's; msg_server overwrites them.
    sender.send(
      CommandId.MSG_DATA,
      msgData({ from: 999, to: 2, msgData: recorded.msgData, createTime: 1, attach: Buffer.from('client') }),
      33,
    );
    assert.equal(bytes(await sender.next(isAck)), hex(pduVector('msg_data_ack').bytes));
    assert.equal(bytes(await recipient.next(isMsg)), hex(pduVector('msg_data_push').bytes));
    assert.equal(bytes(await senderMac.next(isMsg)), hex(pduVector('msg_data_push').bytes));
    const forwarded = await route.next(isMsg);
    const body = decodeBody(CommandId.MSG_DATA, forwarded.body);
    assert.equal(body.msgId, 12);
    assert.equal(Object.hasOwn(body, 'attachData'), false, 'attach_data is cleared before route');
    await probe(sender, 3, 34);
    assert.deepEqual(
      sender.received.map((f) => f.commandId),
      [CommandId.LOGIN_RES_USERLOGIN, CommandId.MSG_DATA_ACK, CommandId.MSG_DATA_ACK],
      'the sending connection gets its ACK, not a push',
    );
    assert.equal(await other.receives(isMsg, 20), true, 'user 3 got the probe');
    assert.equal(other.received.filter(isMsg).length, 1, 'and only the probe');
    const [row] = sandbox.store.singleMessages(1, 2).slice(-1);
    assert.deepEqual([row?.msgId, row?.from, row?.createTime], [12, 1, RECORDED_SECOND]);
  });

  it('discards an empty text, a text to oneself, and more than 20 messages in one second', async (t) => {
    const timers = new FakeTimers();
    const { sandbox, login } = await sandboxFor(t, { timers });
    const c = await login(1);
    c.send(CommandId.MSG_DATA, msgData({ from: 1, to: 2, msgData: Buffer.alloc(0) }), 1);
    c.send(CommandId.MSG_DATA, msgData({ from: 1, to: 1 }), 2);
    c.sendRaw(
      Buffer.concat(
        Array.from({ length: MAX_MSG_PER_SECOND + 5 }, (_, i) =>
          encodePdu(CommandId.MSG_DATA, msgData({ from: 1, to: 2 }), 10 + i),
        ),
      ),
    );
    const acks = await c.collect(MAX_MSG_PER_SECOND, isAck);
    assert.deepEqual(
      seqs(acks).sort((a, b) => a - b),
      Array.from({ length: MAX_MSG_PER_SECOND }, (_, i) => 10 + i),
    );
    timers.advance(1000);
    await probe(c, 2, 100);
    assert.equal(c.received.filter(isAck).length, MAX_MSG_PER_SECOND + 1);
    assert.equal(sandbox.msgServer.stats.clientMsgDiscarded, 7);
    assert.equal(sandbox.store.count(), MAX_MSG_PER_SECOND + 1);
  });

  it('drops the message when db_proxy answers msg_id 0 (no ACK, no push)', async (t) => {
    const { sandbox, login } = await sandboxFor(t);
    const c = await login(1);
    const zero = await login(2);
    // user id 0 as recipient: db_proxy answers msg_id 0.
    c.send(CommandId.MSG_DATA, msgData({ from: 1, to: 0 }), 1);
    await eventually(() => sandbox.dbProxy.stats.msgIdZero === 1, 'the msg_id 0 answer');
    await probe(c, 2, 2);
    await zero.next(isMsg);
    assert.deepEqual(seqs(c.received.filter(isAck)), [2]);
    assert.equal(zero.received.filter(isMsg).length, 1, 'only the probe was pushed');
  });

  it('stops sending to db_proxy after OTHER_STOP_RECV_PACKET, and resumes once reconnected', async (t) => {
    const { sandbox, login } = await sandboxFor(t);
    const c = await login(1);
    await sandbox.dbProxy.sendStopReceivePacket();
    await eventually(() => sandbox.msgServer.upstream.db === 'draining', 'msg_server to drain');
    c.send(CommandId.MSG_DATA, msgData({ from: 1, to: 2 }), 1);
    await eventually(() => sandbox.msgServer.stats.clientMsgDiscarded === 1, 'the message to be discarded');
    sandbox.dbProxy.closeAllConnections();
    await sandbox.msgServer.waitUpstream();
    await probe(c, 2, 2);
    assert.deepEqual(seqs(c.received.filter(isAck)), [2]);
  });

  it('relays a client’s MSG_LIST to db_proxy and answers it with attach_data cleared', async (t) => {
    const { login } = await sandboxFor(t);
    const c = await login(1);
    await probe(c, 2, 1);
    c.send(
      CommandId.MSG_LIST_REQUEST,
      { userId: 77, sessionType: im.SessionType.SESSION_TYPE_SINGLE, sessionId: 2, msgIdBegin: 0, msgCnt: 5 },
      40,
    );
    const { frame, body } = await c.nextBody(CommandId.MSG_LIST_RESPONSE);
    assert.equal(frame.seqNum, 40);
    assert.equal(body.userId, 1, 'asked for the logged-in user');
    assert.equal(Object.hasOwn(body, 'attachData'), false);
    assert.deepEqual(
      body.msgList.map((m) => m.msgId),
      [1],
    );
  });
});

describe('msg_server messages from route', () => {
  it('pushes a single message unchanged to every connection of the recipient and of the sender', async (t) => {
    const { sandbox, connect, login } = await sandboxFor(t);
    const route = await connect(sandbox.route.port);
    const from1 = await login(5);
    const from2 = await login(5, ANDROID);
    const to = await login(6);
    const bystander = await login(7);
    const pdu = encodePdu(
      CommandId.MSG_DATA,
      { ...msgData({ from: 5, to: 6, attach: Buffer.from('gw-corr') }), msgId: 9 },
      4,
    );
    route.sendRaw(pdu);
    for (const c of [from1, from2, to]) assert.equal(bytes(await c.next(isMsg)), hex(pdu));
    await probe(bystander, 5, 1);
    assert.equal(bystander.received.filter(isMsg).length, 0);
    assert.equal(sandbox.msgServer.stats.routeMsgData, 1);
  });

  it('pushes a text to oneself twice to that user, as the real msg_server does', async (t) => {
    const { sandbox, connect, login } = await sandboxFor(t);
    const route = await connect(sandbox.route.port);
    const c = await login(5);
    route.sendRaw(encodePdu(CommandId.MSG_DATA, msgData({ from: 5, to: 5 }), 1));
    await c.collect(2, isMsg);
  });
});

describe('msg_server groups', () => {
  it('fans a client’s group message out to the members online here, ACKs the sender with the GROUP type', async (t) => {
    const { sandbox, connect, login } = await sandboxFor(t, { groups: { '100': [1, 2, 3] } });
    const route = await connect(sandbox.route.port);
    const a1 = await login(1);
    const a2 = await login(1, MAC);
    const b = await login(2);
    const c1 = await login(3);
    const c2 = await login(3, ANDROID);
    const outsider = await login(4);
    a1.send(CommandId.MSG_DATA, msgData({ from: 1, to: 100, type: GROUP_TEXT, attach: Buffer.from('mine') }), 50);
    const ack = decodeBody(CommandId.MSG_DATA_ACK, (await a1.next(isAck)).body);
    assert.deepEqual(
      { ...ack },
      { userId: 1, sessionId: 100, msgId: 1, sessionType: im.SessionType.SESSION_TYPE_GROUP },
    );
    for (const c of [a2, b, c1, c2]) {
      const f = await c.next(isMsg);
      const body = decodeBody(CommandId.MSG_DATA, f.body);
      assert.equal(f.seqNum, 0);
      assert.equal(body.msgId, 1);
      assert.equal(Object.hasOwn(body, 'attachData'), false);
    }
    assert.equal((await route.next(isMsg)).seqNum, 50);
    await probe(outsider, 2, 1);
    assert.equal(outsider.received.filter(isMsg).length, 0);
    assert.equal(a1.received.filter(isMsg).length, 0, 'the sending connection gets no push');
  });

  it('fans a group message from route out to every member online here, if its sender is a member', async (t) => {
    const { sandbox, connect, login } = await sandboxFor(t, { groups: { '100': [1, 2] } });
    const route = await connect(sandbox.route.port);
    const a = await login(1);
    const b = await login(2);
    const outsider = await login(4);
    const fromMember = encodePdu(
      CommandId.MSG_DATA,
      { ...msgData({ from: 2, to: 100, type: GROUP_TEXT, attach: Buffer.from('x') }), msgId: 5 },
      6,
    );
    const fromOutsider = encodePdu(
      CommandId.MSG_DATA,
      { ...msgData({ from: 4, to: 100, type: GROUP_TEXT }), msgId: 6 },
      7,
    );
    route.sendRaw(fromOutsider);
    route.sendRaw(fromMember);
    for (const c of [a, b]) assert.equal(bytes(await c.next(isMsg)), hex(fromMember));
    // Probes through msg_server and db_proxy come after anything the route messages caused.
    await probe(outsider, 1, 1);
    await probe(a, 2, 2);
    await b.next((f) => isMsg(f) && f.seqNum === 0);
    assert.equal(outsider.received.filter(isMsg).length, 0);
    for (const c of [a, b]) {
      assert.deepEqual(
        c.received.filter((f) => isMsg(f) && f.seqNum !== 0).map((f) => f.seqNum),
        [6],
        'the outsider’s message was not pushed',
      );
    }
  });
});

describe('msg_server timeouts', () => {
  it('drops a PC client silent 120 s, a mobile one after 300 s, and a connection that never logs in after 15 s', async (t) => {
    const timers = new FakeTimers();
    const { sandbox, connect, login } = await sandboxFor(t, { timers });
    const pc = await login(1);
    const mobile = await login(2, ANDROID);
    const anonymous = await connect(sandbox.msgServer.port);
    await eventually(() => sandbox.msgServer.connections === 3, 'three connections');
    timers.advance(15_000);
    await anonymous.waitClosed();
    timers.advance(104_000);
    assert.equal(await pc.receives(() => false, 20), false);
    assert.equal(pc.closed, false);
    timers.advance(1000);
    await pc.waitClosed();
    timers.advance(179_000);
    assert.equal(mobile.closed, false);
    timers.advance(1000);
    await mobile.waitClosed();
  });
});
