/**
 * MsgDataTemplate against protobufjs's own encoder (encodeBody) as the oracle: the same fields give the same
 * bytes, whatever the varint lengths of the ids, msg_id, create_time and the msg_data length; and its reading of
 * a reply takes only a reply that is the message as sent.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CommandId, MsgDataTemplate, encodeBody, im, varint32Length, writeVarint32 } from '@ttpush/pdu';

/** Values around each varint length boundary (1/2, 2/3, 3/4, 4/5 bytes) and the uint32 extremes. */
const VARINT_EDGES = [
  0, 1, 0x7f, 0x80, 0x81, 0x3fff, 0x4000, 0x1fffff, 0x200000, 0xfffffff, 0x10000000, 0x7fffffff, 0x80000000, 0xffffffff,
];
/** msg_data lengths whose length varint is 1 or 2 bytes (and the edge between), and a 3-byte one. */
const DATA_LENGTHS = [1, 0x7f, 0x80, 0x3fff, 0x4000];

function data(length: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

function oracle(fields: {
  fromUserId: number;
  toSessionId: number;
  msgId: number;
  createTime: number;
  msgType: number;
  msgData: Uint8Array;
  attachData?: Uint8Array;
}): Buffer {
  return Buffer.from(encodeBody(CommandId.MSG_DATA, fields));
}

describe('varint32', () => {
  it('writes what protobuf writes and says how long it is, at every length boundary', () => {
    for (const v of VARINT_EDGES) {
      const out = new Uint8Array(5);
      const n = writeVarint32(out, 0, v);
      assert.equal(n, varint32Length(v), `length of ${v}`);
      // Field 3 of IMRoleSet-like bodies is not handy: use IMMsgData's msg_id, a uint32, and find its bytes.
      const body = oracle({ fromUserId: 1, toSessionId: 2, msgId: v, createTime: 3, msgType: 1, msgData: data(1) });
      assert.deepEqual(Buffer.from(out.subarray(0, n)), body.subarray(5, 5 + n), `bytes of ${v}`);
    }
  });
});

describe('MsgDataTemplate', () => {
  it('encodes what encodeBody encodes for the same fields, ids and lengths across every varint boundary', () => {
    let cases = 0;
    for (const len of DATA_LENGTHS) {
      const msgData = data(len);
      for (const from of VARINT_EDGES) {
        for (const createTime of [0, 0x7f, 0x80, 1_800_000_000, 0xffffffff]) {
          const t = new MsgDataTemplate({ fromUserId: from, createTime, msgType: 1, msgData });
          for (const to of VARINT_EDGES) {
            for (const msgId of [0, 0x7f, 0x80, 0x3fff, 0x4000, 0xffffffff]) {
              const want = oracle({ fromUserId: from, toSessionId: to, msgId, createTime, msgType: 1, msgData });
              assert.deepEqual(t.encode(to, msgId), want);
              assert.equal(t.bodyLength(to, msgId), want.length);
              cases++;
            }
          }
        }
      }
    }
    assert.ok(cases > 10_000);
  });

  it('writes in place at an offset, leaving the bytes around it alone', () => {
    const t = new MsgDataTemplate({ fromUserId: 1001, createTime: 1_800_000_000, msgType: 17, msgData: data(40) });
    const want = oracle({
      fromUserId: 1001,
      toSessionId: 300_000,
      msgId: 0,
      createTime: 1_800_000_000,
      msgType: 17,
      msgData: data(40),
    });
    const out = Buffer.alloc(want.length + 10, 0xee);
    const end = t.write(out, 4, 300_000, 0);
    assert.equal(end, 4 + want.length);
    assert.deepEqual(out.subarray(4, end), want);
    assert.deepEqual([...out.subarray(0, 4), ...out.subarray(end)], new Array(10).fill(0xee));
  });

  it('encodes every msg_type, a negative int32 as ten bytes, as encodeBody does', () => {
    const types = [...Object.values(im.MsgType).filter((v): v is number => typeof v === 'number'), 0, 0x80, -1, -200];
    for (const msgType of types) {
      const t = new MsgDataTemplate({ fromUserId: 5, createTime: 9, msgType, msgData: data(3) });
      const want = oracle({ fromUserId: 5, toSessionId: 6, msgId: 7, createTime: 9, msgType, msgData: data(3) });
      assert.deepEqual(t.encode(6, 7), want, `msg_type ${msgType}`);
    }
  });

  it('appends attach_data as encodeBody does, its length varint of 1 or 2 bytes', () => {
    const t = new MsgDataTemplate({ fromUserId: 1, createTime: 2, msgType: 1, msgData: data(10) });
    for (const n of [0, 8, 0x7f, 0x80, 300]) {
      const attachData = data(n);
      const want = oracle({
        fromUserId: 1,
        toSessionId: 0x4000,
        msgId: 0,
        createTime: 2,
        msgType: 1,
        msgData: data(10),
        attachData,
      });
      assert.deepEqual(t.encode(0x4000, 0, attachData), want, `attach_data of ${n} bytes`);
    }
  });

  it('decodes back to the fields it was made of', () => {
    const msgData = Buffer.from('aGVsbG8gd29ybGQ=', 'latin1');
    const t = new MsgDataTemplate({ fromUserId: 70000, createTime: 1_750_000_000, msgType: 2, msgData });
    const m = im.IMMsgData.decode(t.encode(0x10000000, 0x80));
    assert.deepEqual(
      [m.fromUserId, m.toSessionId, m.msgId, m.createTime, m.msgType, Buffer.from(m.msgData)],
      [70000, 0x10000000, 0x80, 1_750_000_000, 2, msgData],
    );
  });
});

/** replyMsgId of `body` read where it lies in a larger buffer, bytes before and after it. */
function msgIdOf(t: MsgDataTemplate, body: Buffer, to: number): number {
  const padded = Buffer.concat([Buffer.from([0x08, 0xe9, 0x07]), body, Buffer.from([0xa2, 0x01, 0x08])]);
  return t.replyMsgId(padded, 3, 3 + body.length, to);
}

describe('MsgDataTemplate.replyMsgId', () => {
  const msgData = data(0x90);
  const t = new MsgDataTemplate({ fromUserId: 1001, createTime: 1_800_000_000, msgType: 1, msgData });
  const fields = { fromUserId: 1001, createTime: 1_800_000_000, msgType: 1, msgData };
  const attachData = Buffer.from('0102030405060708', 'hex');

  it('reads the msg_id of the message as sent, with or without attach_data after it', () => {
    for (const to of [2, 0x80, 0x4000, 0xffffffff]) {
      for (const msgId of [0, 1, 0x7f, 0x80, 0x3fff, 0x4000, 0xffffffff]) {
        assert.equal(msgIdOf(t, oracle({ ...fields, toSessionId: to, msgId, attachData }), to), msgId);
        assert.equal(msgIdOf(t, oracle({ ...fields, toSessionId: to, msgId }), to), msgId);
      }
    }
  });

  it('answers -1 for any other message: another recipient, sender, time, type, text, or more fields', () => {
    const reply = (over: Partial<Parameters<typeof oracle>[0]>) =>
      oracle({ ...fields, toSessionId: 300, msgId: 5, attachData, ...over });
    assert.equal(msgIdOf(t, reply({}), 300), 5);
    assert.equal(msgIdOf(t, reply({}), 301), -1);
    assert.equal(msgIdOf(t, reply({ fromUserId: 1002 }), 300), -1);
    assert.equal(msgIdOf(t, reply({ createTime: 1_800_000_001 }), 300), -1);
    assert.equal(msgIdOf(t, reply({ msgType: 17 }), 300), -1);
    assert.equal(msgIdOf(t, reply({ msgData: data(0x8f) }), 300), -1);
    const other = Buffer.from(msgData);
    other[0x40] = other[0x40]! ^ 1;
    assert.equal(msgIdOf(t, reply({ msgData: other }), 300), -1);
    // An unknown field after the message, or trailing bytes.
    assert.equal(msgIdOf(t, Buffer.concat([reply({}), Buffer.from([0x38, 0x01])]), 300), -1);
    assert.equal(msgIdOf(t, Buffer.concat([reply({ attachData: undefined }), Buffer.from([0x00])]), 300), -1);
    // Cut short anywhere (but right before attach_data, which leaves the whole message without it).
    const whole = reply({});
    const withoutAttach = whole.length - 3 - attachData.length;
    for (let n = 0; n < whole.length; n++) {
      assert.equal(msgIdOf(t, whole.subarray(0, n), 300), n === withoutAttach ? 5 : -1, `first ${n} bytes`);
    }
  });

  it('answers -1 for a to_session_id written in more bytes than needed (legal, not as sent)', () => {
    const sent = oracle({ ...fields, toSessionId: 5, msgId: 9 });
    // 08 e9 07 10 05 ...: rewrite 05 as 85 00.
    const padded = Buffer.concat([sent.subarray(0, 4), Buffer.from([0x85, 0x00]), sent.subarray(5)]);
    assert.equal(im.IMMsgData.decode(padded).toSessionId, 5);
    assert.equal(msgIdOf(t, padded, 5), -1);
  });
});
