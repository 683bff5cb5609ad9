/**
 * db_proxy_server contract, reading back (notes §6): MSG_GET_LATEST_MSG_ID and MSG_LIST.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CommandId, decodeBody, encodeFrame, im } from '@ttpush/pdu';
import { pduVector, type RawClient } from '@ttpush/testkit';
import { sandboxFor } from './helpers/sandbox.ts';
import { GROUP_TEXT, hex, msgData, textOfBytes, type MsgInput } from './helpers/messages.ts';

const SINGLE = im.SessionType.SESSION_TYPE_SINGLE;
const GROUP = im.SessionType.SESSION_TYPE_GROUP;

async function store(c: RawClient, m: MsgInput, seq: number): Promise<number> {
  c.send(CommandId.MSG_DATA, msgData(m), seq);
  const reply = await c.next((f) => f.commandId === CommandId.MSG_DATA && f.seqNum === seq);
  return decodeBody(CommandId.MSG_DATA, reply.body).msgId;
}

async function latest(c: RawClient, userId: number, sessionType: im.SessionType, sessionId: number): Promise<number> {
  c.send(CommandId.MSG_GET_LATEST_MSG_ID_REQ, { userId, sessionType, sessionId }, 900);
  return (await c.nextBody(CommandId.MSG_GET_LATEST_MSG_ID_RSP)).body.latestMsgId;
}

async function list(
  c: RawClient,
  userId: number,
  sessionType: im.SessionType,
  sessionId: number,
  msgIdBegin: number,
  msgCnt: number,
): Promise<number[]> {
  c.send(CommandId.MSG_LIST_REQUEST, { userId, sessionType, sessionId, msgIdBegin, msgCnt }, 901);
  const { body } = await c.nextBody(CommandId.MSG_LIST_RESPONSE);
  return body.msgList.map((m) => m.msgId);
}

describe('db_proxy read-back', () => {
  it('answers MSG_GET_LATEST_MSG_ID and MSG_LIST byte for byte as the real server does', async (t) => {
    const { sandbox, connect } = await sandboxFor(t);
    const c = await connect(sandbox.dbProxy.port);
    const stored = decodeBody(CommandId.MSG_DATA, pduVector('msg_data_stored').bytes.subarray(16));
    assert.equal(
      await store(c, { from: 3831239, to: 3831240, msgData: stored.msgData, createTime: stored.createTime }, 7),
      1,
    );

    c.send(
      CommandId.MSG_GET_LATEST_MSG_ID_REQ,
      { userId: 3831239, sessionType: SINGLE, sessionId: 3831240, attachData: Buffer.from('corr-0003') },
      9,
    );
    const l = await c.next((f) => f.commandId === CommandId.MSG_GET_LATEST_MSG_ID_RSP);
    assert.equal(hex(encodeFrame(l, l.body)), hex(pduVector('latest_msg_id').bytes));

    c.send(
      CommandId.MSG_LIST_REQUEST,
      {
        userId: 3831239,
        sessionType: SINGLE,
        sessionId: 3831240,
        msgIdBegin: 0,
        msgCnt: 10,
        attachData: Buffer.from('corr-0004'),
      },
      10,
    );
    const m = await c.next((f) => f.commandId === CommandId.MSG_LIST_RESPONSE);
    assert.equal(hex(encodeFrame(m, m.body)), hex(pduVector('msg_list').bytes));
  });

  it('answers the highest msg_id actually written: a text too long for the column does not count', async (t) => {
    const { sandbox, connect } = await sandboxFor(t);
    const c = await connect(sandbox.dbProxy.port);
    assert.equal(await latest(c, 1, SINGLE, 2), 0);
    await store(c, { from: 1, to: 2 }, 1);
    await store(c, { from: 2, to: 1 }, 2);
    assert.equal(await latest(c, 1, SINGLE, 2), 2);
    assert.equal(await latest(c, 2, SINGLE, 1), 2, 'either side reads the same conversation');
    assert.equal(await store(c, { from: 1, to: 2, text: textOfBytes(3069) }, 3), 3);
    assert.equal(await latest(c, 1, SINGLE, 2), 2);
    assert.equal(await latest(c, 1, SINGLE, 3), 0);
  });

  it('answers a group latest msg_id, and 0 for an unknown group', async (t) => {
    const { sandbox, connect } = await sandboxFor(t, { groups: { '70': [1, 2] } });
    const c = await connect(sandbox.dbProxy.port);
    await store(c, { from: 1, to: 70, type: GROUP_TEXT }, 1);
    await store(c, { from: 2, to: 70, type: GROUP_TEXT }, 2);
    assert.equal(await latest(c, 1, GROUP, 70), 2);
    assert.equal(await latest(c, 1, GROUP, 71), 0);
  });

  it('lists by create_time descending then insertion descending, msg_id ≤ msg_id_begin, at most msg_cnt', async (t) => {
    const { sandbox, connect } = await sandboxFor(t);
    const c = await connect(sandbox.dbProxy.port);
    // create_time as the caller gave it decides the order, not the msg_id.
    for (const [seq, createTime] of [100, 300, 200, 300, 50].entries()) {
      await store(c, { from: seq % 2 === 0 ? 1 : 2, to: seq % 2 === 0 ? 2 : 1, createTime }, seq + 1);
    }
    assert.deepEqual(await list(c, 1, SINGLE, 2, 0, 10), [4, 2, 3, 1, 5]);
    assert.deepEqual(await list(c, 2, SINGLE, 1, 0, 10), [4, 2, 3, 1, 5]);
    assert.deepEqual(await list(c, 1, SINGLE, 2, 0, 2), [4, 2]);
    assert.deepEqual(await list(c, 1, SINGLE, 2, 3, 10), [2, 3, 1]);
    assert.deepEqual(await list(c, 1, SINGLE, 2, 1, 10), [1]);
    assert.deepEqual(await list(c, 1, SINGLE, 2, 0, 0), []);
    assert.deepEqual(await list(c, 1, SINGLE, 9, 0, 10), []);
  });

  it('carries sender, create_time and the stored text in each MsgInfo, and echoes attach_data', async (t) => {
    const { sandbox, connect } = await sandboxFor(t);
    const c = await connect(sandbox.dbProxy.port);
    await store(c, { from: 2, to: 1, msgData: Buffer.from('opaque text'), createTime: 77 }, 1);
    c.send(
      CommandId.MSG_LIST_REQUEST,
      { userId: 1, sessionType: SINGLE, sessionId: 2, msgIdBegin: 0, msgCnt: 5, attachData: Buffer.from([0, 1, 0]) },
      44,
    );
    const { frame, body } = await c.nextBody(CommandId.MSG_LIST_RESPONSE);
    assert.equal(frame.seqNum, 44);
    assert.equal(hex(body.attachData), '000100');
    assert.equal(body.msgList.length, 1);
    const [info] = body.msgList;
    assert.equal(info?.fromSessionId, 2);
    assert.equal(info?.createTime, 77);
    assert.equal(info?.msgType, im.MsgType.MSG_TYPE_SINGLE_TEXT);
    assert.equal(Buffer.from(info?.msgData ?? []).toString(), 'opaque text');
  });

  it('does not list a 3069-byte text: it was answered but not written', async (t) => {
    const { sandbox, connect } = await sandboxFor(t);
    const c = await connect(sandbox.dbProxy.port);
    await store(c, { from: 1, to: 2, text: textOfBytes(3068) }, 1);
    await store(c, { from: 1, to: 2, text: textOfBytes(3069) }, 2);
    assert.deepEqual(await list(c, 1, SINGLE, 2, 0, 10), [1]);
  });

  it('lists a group for its members and gives a non-member an empty list', async (t) => {
    const { sandbox, connect } = await sandboxFor(t, { groups: { '80': [1, 2] } });
    const c = await connect(sandbox.dbProxy.port);
    await store(c, { from: 1, to: 80, type: GROUP_TEXT, createTime: 10 }, 1);
    await store(c, { from: 2, to: 80, type: GROUP_TEXT, createTime: 20 }, 2);
    assert.deepEqual(await list(c, 2, GROUP, 80, 0, 10), [2, 1]);
    assert.deepEqual(await list(c, 3, GROUP, 80, 0, 10), []);
    assert.deepEqual(await list(c, 1, GROUP, 81, 0, 10), []);
  });
});
