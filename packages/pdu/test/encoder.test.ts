/**
 * The encoder against independent oracles: hex literals written from the header layout (protocol
 * notes §2) and the real servers' PDUs. Never against its own output.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CommandId,
  FrameDecoder,
  TeamTalkCipher,
  decodeBody,
  encodeBody,
  encodeFrame,
  encodePdu,
  writeHeader,
  serviceOf,
  commandName,
} from '@ttpush/pdu';
import { pduVector } from '@ttpush/testkit';
import { STOCK_AES_KEY } from './helpers/vector-expectations.ts';

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

function onlyFrame(bytes: Buffer) {
  const frames = new FrameDecoder().push(bytes);
  assert.equal(frames.length, 1);
  return frames[0]!;
}

describe('encodePdu and encodeFrame against hand-written bytes', () => {
  it('encodes IMHeartBeat as the heartbeat db_proxy_server sends', () => {
    const want = hex('00000010 0001 0000 0007 0701 0000 0000');
    assert.deepEqual(encodePdu(CommandId.OTHER_HEARTBEAT, {}, 0), want);
    assert.deepEqual(encodePdu(CommandId.OTHER_HEARTBEAT, {}, 0), pduVector('heartbeat').bytes);
  });

  it('encodes IMRoleSet{master: 1} with seq 3', () => {
    // length 18, version 1, flag 0, service OTHER, command 0x0707, seq 3, reserved 0; body: field 1 varint 1.
    assert.deepEqual(
      encodePdu(CommandId.OTHER_ROLE_SET, { master: 1 }, 3),
      hex('00000012 0001 0000 0007 0707 0003 0000 0801'),
    );
  });

  it('encodes IMRoleSet{master: 0}: proto2 writes a required zero', () => {
    assert.deepEqual(
      encodePdu(CommandId.OTHER_ROLE_SET, { master: 0 }),
      hex('00000012 0001 0000 0007 0707 0000 0000 0800'),
    );
  });

  it('encodes IMStopReceivePacket{result: 0}', () => {
    assert.deepEqual(
      encodePdu(CommandId.OTHER_STOP_RECV_PACKET, { result: 0 }),
      hex('00000012 0001 0000 0007 0702 0000 0000 0800'),
    );
  });

  it('truncates seq_num to 16 bits, as on the wire', () => {
    assert.deepEqual(
      encodeFrame({ commandId: 0x0701, seqNum: 0x1_0005 }, new Uint8Array(0)),
      hex('00000010 0001 0000 0007 0701 0005 0000'),
    );
  });

  it('takes an explicit service id over the command’s high byte', () => {
    assert.deepEqual(
      encodeFrame({ commandId: 0x0701, serviceId: 0x0009 }, Buffer.from([0xab])),
      hex('00000011 0001 0000 0009 0701 0000 0000 ab'),
    );
  });

  it('writes a header at an offset without touching the bytes around it', () => {
    const out = Buffer.alloc(20, 0xee);
    writeHeader(out, 2, 0x1234, { commandId: 0x030b, seqNum: 9 });
    assert.deepEqual(out, hex('eeee 00001234 0001 0000 0003 030b 0009 0000 eeee'));
  });

  it('knows the service of a command and names it', () => {
    assert.equal(serviceOf(0x0301), 0x0003);
    assert.equal(serviceOf(0x0707), 0x0007);
    assert.equal(commandName(0x0301), 'MSG_DATA');
    assert.equal(commandName(0x0215), '0x0215');
  });
});

describe('encodePdu reproduces the real servers’ PDUs', () => {
  it('builds msg_data_stored byte for byte from literal values and the cipher', () => {
    const cipher = new TeamTalkCipher(STOCK_AES_KEY);
    const pdu = encodePdu(
      CommandId.MSG_DATA,
      {
        fromUserId: 3831239,
        toSessionId: 3831240,
        msgId: 1,
        createTime: 1764288000,
        msgType: 1,
        msgData: Buffer.from(cipher.encryptToBase64('你好, TeamTalk 🚀'), 'latin1'),
        attachData: Buffer.from('corr-0001', 'latin1'),
      },
      7,
    );
    assert.deepEqual(pdu, pduVector('msg_data_stored').bytes);
  });

  const cases = [
    ['msg_data_stored', CommandId.MSG_DATA],
    ['msg_data_self_send', CommandId.MSG_DATA],
    ['latest_msg_id', CommandId.MSG_GET_LATEST_MSG_ID_RSP],
    ['msg_list', CommandId.MSG_LIST_RESPONSE],
    ['group_create', CommandId.GROUP_CREATE_RESPONSE],
    ['msg_data_ack', CommandId.MSG_DATA_ACK],
    ['msg_data_push', CommandId.MSG_DATA],
    ['login_ok', CommandId.LOGIN_RES_USERLOGIN],
  ] as const;

  for (const [name, commandId] of cases) {
    it(`re-encodes the decoded body of ${name} to the same bytes`, () => {
      const bytes = pduVector(name).bytes;
      const frame = onlyFrame(bytes);
      assert.equal(frame.commandId, commandId);
      const body = decodeBody(commandId, frame.body);
      // Each case is its own command type; the generic signature cannot see that through the loop.
      const again = encodePdu(commandId, body as never, frame.seqNum);
      assert.deepEqual(again, bytes);
      assert.deepEqual(Buffer.from(encodeBody(commandId, body as never)), bytes.subarray(16));
    });
  }
});
