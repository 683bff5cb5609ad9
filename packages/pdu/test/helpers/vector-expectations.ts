/**
 * What each PDU vector in packages/testkit/vectors/teamtalk-pdus.tsv holds, written by hand from the
 * vector's note and the header layout (protocol notes §2–§4), so a decoder is checked against
 * values that did not come from our own code.
 */
import assert from 'node:assert/strict';
import { CommandId, TeamTalkCipher, decodeBody, isKnownCommand, type Frame } from '@ttpush/pdu';

/** The stock servers' public default aesKey: the key the vectors were made with. */
export const STOCK_AES_KEY = '12345678901234567890123456789012';
const cipher = new TeamTalkCipher(STOCK_AES_KEY);

export interface VectorExpectation {
  commandId: number;
  serviceId: number;
  seqNum: number;
  /** Checks the decoded body against the note. */
  checkBody(frame: Frame): void;
}

const attach = (text: string) => Buffer.from(text, 'latin1');

export const vectorExpectations: Record<string, VectorExpectation> = {
  msg_data_stored: {
    commandId: 0x0301,
    serviceId: 0x0003,
    seqNum: 7,
    checkBody(frame) {
      const b = decodeBody(CommandId.MSG_DATA, frame.body);
      assert.equal(b.fromUserId, 3831239);
      assert.equal(b.toSessionId, 3831240);
      assert.equal(b.msgId, 1);
      assert.equal(b.createTime, 1764288000);
      assert.equal(b.msgType, 1);
      assert.deepEqual(Buffer.from(b.attachData), attach('corr-0001'));
      assert.equal(cipher.decryptToString(b.msgData), '你好, TeamTalk 🚀');
    },
  },
  msg_data_self_send: {
    commandId: 0x0301,
    serviceId: 0x0003,
    seqNum: 8,
    checkBody(frame) {
      const b = decodeBody(CommandId.MSG_DATA, frame.body);
      assert.equal(b.fromUserId, 3831239);
      assert.equal(b.toSessionId, 3831239);
      assert.equal(b.msgId, 0);
      assert.deepEqual(Buffer.from(b.attachData), attach('corr-0002'));
      assert.equal(cipher.decryptToString(b.msgData), '你好, TeamTalk 🚀');
    },
  },
  latest_msg_id: {
    commandId: 0x030c,
    serviceId: 0x0003,
    seqNum: 9,
    checkBody(frame) {
      const b = decodeBody(CommandId.MSG_GET_LATEST_MSG_ID_RSP, frame.body);
      assert.equal(b.userId, 3831239);
      assert.equal(b.sessionType, 1);
      assert.equal(b.sessionId, 3831240);
      assert.equal(b.latestMsgId, 1);
      assert.deepEqual(Buffer.from(b.attachData), attach('corr-0003'));
    },
  },
  msg_list: {
    commandId: 0x030a,
    serviceId: 0x0003,
    seqNum: 10,
    checkBody(frame) {
      const b = decodeBody(CommandId.MSG_LIST_RESPONSE, frame.body);
      assert.equal(b.userId, 3831239);
      assert.equal(b.sessionType, 1);
      assert.equal(b.sessionId, 3831240);
      assert.equal(b.msgIdBegin, 0);
      assert.equal(b.msgList.length, 1);
      const m = b.msgList[0]!;
      assert.equal(m.msgId, 1);
      assert.equal(m.fromSessionId, 3831239);
      assert.equal(m.createTime, 1764288000);
      assert.equal(m.msgType, 1);
      assert.equal(cipher.decryptToString(m.msgData), '你好, TeamTalk 🚀');
      assert.deepEqual(Buffer.from(b.attachData), attach('corr-0004'));
    },
  },
  group_create: {
    commandId: 0x0406,
    serviceId: 0x0004,
    seqNum: 11,
    checkBody(frame) {
      const b = decodeBody(CommandId.GROUP_CREATE_RESPONSE, frame.body);
      assert.equal(b.userId, 3831239);
      assert.equal(b.resultCode, 0);
      assert.ok(typeof b.groupId === 'number' && b.groupId > 0, 'a database row id');
      assert.equal(b.groupName, '测试群');
      assert.deepEqual(b.userIdList, [3831239, 3831240]);
      assert.deepEqual(Buffer.from(b.attachData), attach('corr-0005'));
    },
  },
  heartbeat: {
    commandId: 0x0701,
    serviceId: 0x0007,
    seqNum: 0,
    checkBody(frame) {
      assert.equal(frame.body.length, 0);
      decodeBody(CommandId.OTHER_HEARTBEAT, frame.body);
    },
  },
  login_ok: {
    commandId: 0x0104,
    serviceId: 0x0001,
    seqNum: 1,
    checkBody(frame) {
      const b = decodeBody(CommandId.LOGIN_RES_USERLOGIN, frame.body);
      assert.equal(b.resultCode, 0);
      assert.ok(b.serverTime > 0);
      assert.equal(b.userInfo?.userId, 2);
      assert.equal(b.userInfo?.userNickName, 'user2');
      assert.equal(b.userInfo?.email, 'user2@example.invalid');
    },
  },
  msg_data_ack: {
    commandId: 0x0302,
    serviceId: 0x0003,
    seqNum: 33,
    checkBody(frame) {
      const b = decodeBody(CommandId.MSG_DATA_ACK, frame.body);
      assert.equal(b.userId, 1);
      assert.equal(b.sessionId, 2);
      assert.equal(b.msgId, 12);
      assert.equal(b.sessionType, 1);
    },
  },
  msg_data_push: {
    commandId: 0x0301,
    serviceId: 0x0003,
    seqNum: 0,
    checkBody(frame) {
      const b = decodeBody(CommandId.MSG_DATA, frame.body);
      assert.equal(b.fromUserId, 1);
      assert.equal(b.toSessionId, 2);
      assert.equal(b.msgId, 12);
      assert.equal(b.msgType, 1);
      assert.equal((b.attachData ?? new Uint8Array(0)).length, 0);
      assert.equal(cipher.decryptToString(b.msgData), 'push 测试');
    },
  },
};

/** Asserts that `frame` is the vector `name`: every header field, then the body's values. */
export function assertVectorFrame(name: string, bytes: Buffer, frame: Frame | undefined): void {
  const want = vectorExpectations[name];
  assert.ok(want, `no expectation written for vector ${name}`);
  assert.ok(frame, `vector ${name}: no frame decoded`);
  assert.equal(bytes.readUInt32BE(0), bytes.length, `vector ${name}: length field`);
  assert.equal(frame.version, 1);
  assert.equal(frame.flag, 0);
  assert.equal(frame.reserved, 0);
  assert.equal(frame.serviceId, want.serviceId, `vector ${name}: service id`);
  assert.equal(frame.commandId, want.commandId, `vector ${name}: command id`);
  assert.equal(frame.seqNum, want.seqNum, `vector ${name}: seq`);
  assert.equal(frame.body.length, bytes.length - 16);
  assert.ok(isKnownCommand(frame.commandId));
  want.checkBody(frame);
}
