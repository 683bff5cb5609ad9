/**
 * db_proxy_server contract, IMMsgData (notes §6, §10): msg_id allocation, out-of-order replies,
 * msg_id 0 cases, every no-reply case, the column size limit, the relation race.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CommandId,
  decodeBody,
  encodeBody,
  encodeFrame,
  encodePdu,
  encryptedTextLength,
  type Frame,
} from '@ttpush/pdu';
import { pduVector, type RawClient } from '@ttpush/testkit';
import { seededRandom } from '../src/index.ts';
import { sandboxFor } from './helpers/sandbox.ts';
import { GROUP_TEXT, cipher, hex, msgData, seqs, textOfBytes, type MsgInput } from './helpers/messages.ts';

const isMsgData = (f: Frame) => f.commandId === CommandId.MSG_DATA;

/** Sends one IMMsgData and waits for its reply (one request in flight). */
async function store(c: RawClient, m: MsgInput, seq: number): Promise<number> {
  c.send(CommandId.MSG_DATA, msgData(m), seq);
  const reply = await c.next((f) => isMsgData(f) && f.seqNum === seq);
  return decodeBody(CommandId.MSG_DATA, reply.body).msgId;
}

/**
 * Sends `bad` requests, then (in a later write) a probe that does get a reply: the server handles
 * requests in arrival order across turns, so any reply to the bad ones would have come first.
 */
async function expectNoReplies(c: RawClient, bad: Buffer[], probeSeq: number): Promise<void> {
  c.sendRaw(Buffer.concat(bad));
  await new Promise((r) => setTimeout(r, 20));
  c.send(CommandId.MSG_DATA, msgData({ from: 90001, to: 90002 }), probeSeq);
  await c.next((f) => isMsgData(f) && f.seqNum === probeSeq);
  const badSeqs = new Set(bad.map((b) => b.readUInt16BE(12)));
  const answered = c.received.filter((f) => f.seqNum !== probeSeq && badSeqs.has(f.seqNum));
  assert.deepEqual(seqs(answered), [], 'a request that must get no reply got one');
  assert.equal(c.closed, false, 'the connection stays open');
}

describe('db_proxy IMMsgData', () => {
  it('answers a stored message byte for byte as the real server does', async (t) => {
    const { sandbox, connect } = await sandboxFor(t);
    const c = await connect(sandbox.dbProxy.port);
    const expected = pduVector('msg_data_stored').bytes;
    // The request is the reply with msg_id 0: same ids, time, text and attach_data ('corr-0001'), seq 7.
    const request = decodeBody(CommandId.MSG_DATA, expected.subarray(16));
    c.send(CommandId.MSG_DATA, { ...request, msgId: 0 }, 7);
    const reply = await c.next(isMsgData);
    assert.equal(hex(encodeFrame(reply, reply.body)), hex(expected));
    assert.equal(cipher.decryptToString(request.msgData), '你好, TeamTalk 🚀');
  });

  it('answers a text to oneself with msg_id 0 byte for byte, and stores nothing', async (t) => {
    const { sandbox, connect } = await sandboxFor(t);
    const c = await connect(sandbox.dbProxy.port);
    const expected = pduVector('msg_data_self_send').bytes;
    const request = decodeBody(CommandId.MSG_DATA, expected.subarray(16));
    c.send(CommandId.MSG_DATA, request, 8);
    const reply = await c.next(isMsgData);
    assert.equal(hex(encodeFrame(reply, reply.body)), hex(expected));
    assert.equal(sandbox.store.count(), 0);
    assert.equal(sandbox.dbProxy.stats.msgIdZero, 1);
  });

  it('counts msg_ids per user pair from 1, one counter for both directions, and per group', async (t) => {
    const { sandbox, connect } = await sandboxFor(t, { groups: { '500': [1, 2, 3] } });
    const c = await connect(sandbox.dbProxy.port);
    assert.equal(await store(c, { from: 1, to: 2 }, 1), 1);
    assert.equal(await store(c, { from: 2, to: 1 }, 2), 2);
    assert.equal(await store(c, { from: 1, to: 2 }, 3), 3);
    assert.equal(await store(c, { from: 1, to: 3 }, 4), 1);
    assert.equal(await store(c, { from: 3, to: 1 }, 5), 2);
    assert.equal(await store(c, { from: 1, to: 500, type: GROUP_TEXT }, 6), 1);
    assert.equal(await store(c, { from: 2, to: 500, type: GROUP_TEXT }, 7), 2);
    assert.deepEqual(
      sandbox.store.singleMessages(2, 1).map((m) => [m.msgId, m.from, m.to]),
      [
        [1, 1, 2],
        [2, 2, 1],
        [3, 1, 2],
      ],
    );
    assert.deepEqual(
      sandbox.store.groupMessages(500).map((m) => [m.msgId, m.from]),
      [
        [1, 1],
        [2, 2],
      ],
    );
    assert.equal(sandbox.store.count(), 7);
    assert.equal(sandbox.dbProxy.stats.msgDataStored, 7);
  });

  it('stores the text and create_time exactly as given and echoes attach_data byte for byte', async (t) => {
    const { sandbox, connect } = await sandboxFor(t);
    const c = await connect(sandbox.dbProxy.port);
    const attach = Buffer.from([0, 255, 0, 1, 2, 3, 0xfe, 0, 0]);
    const text = Buffer.from('not base64 at all: stored anyway');
    c.send(CommandId.MSG_DATA, msgData({ from: 7, to: 8, msgData: text, createTime: 42, attach }), 300);
    const body = decodeBody(CommandId.MSG_DATA, (await c.next(isMsgData)).body);
    assert.equal(hex(body.attachData), hex(attach));
    assert.equal(hex(body.msgData), hex(text));
    const [row] = sandbox.store.singleMessages(7, 8);
    assert.equal(row?.msgData, text.toString());
    assert.equal(row?.createTime, 42);
  });

  it('stores a message to an unknown user id under a new pair', async (t) => {
    const { sandbox, connect } = await sandboxFor(t);
    const c = await connect(sandbox.dbProxy.port);
    assert.equal(await store(c, { from: 1, to: 4_000_000_000 }, 1), 1);
    assert.equal(sandbox.store.singleMessages(1, 4_000_000_000).length, 1);
  });

  it('answers msg_id 0 when a user id is 0, and stores nothing', async (t) => {
    const { sandbox, connect } = await sandboxFor(t);
    const c = await connect(sandbox.dbProxy.port);
    assert.equal(await store(c, { from: 0, to: 5 }, 1), 0);
    assert.equal(await store(c, { from: 5, to: 0 }, 2), 0);
    assert.equal(await store(c, { from: 5, to: 5, type: 0x02 }, 3), 0);
    assert.equal(sandbox.store.count(), 0);
  });

  it('replies to a pipelined burst out of order, each with its own seq_num and attach_data', async (t) => {
    const { sandbox, connect } = await sandboxFor(t, { random: seededRandom(7) });
    const c = await connect(sandbox.dbProxy.port);
    const burst = Array.from({ length: 40 }, (_, i) =>
      encodePdu(
        CommandId.MSG_DATA,
        msgData({ from: 100 + i, to: 200 + i, attach: Buffer.from(`corr-${i + 1}`) }),
        i + 1,
      ),
    );
    c.sendRaw(Buffer.concat(burst));
    const replies = await c.collect(40, isMsgData);
    const order = seqs(replies);
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
    assert.notDeepEqual(
      order,
      [...order].sort((a, b) => a - b),
      'replies came back in send order',
    );
    for (const r of replies) {
      const body = decodeBody(CommandId.MSG_DATA, r.body);
      assert.equal(body.attachData.toString(), `corr-${r.seqNum}`);
      assert.equal(body.msgId, 1);
    }
  });

  it('allocates a pipelined conversation its msg_ids in handling order, not send order', async (t) => {
    const { sandbox, connect } = await sandboxFor(t, { random: seededRandom(11) });
    const c = await connect(sandbox.dbProxy.port);
    assert.equal(await store(c, { from: 1, to: 2 }, 1), 1);
    const burst = Array.from({ length: 20 }, (_, i) =>
      encodePdu(CommandId.MSG_DATA, msgData({ from: 1, to: 2 }), i + 2),
    );
    c.sendRaw(Buffer.concat(burst));
    const replies = await c.collect(20, isMsgData);
    const idBySeq = replies
      .sort((a, b) => a.seqNum - b.seqNum)
      .map((r) => decodeBody(CommandId.MSG_DATA, r.body).msgId);
    assert.deepEqual(
      [...idBySeq].sort((a, b) => a - b),
      Array.from({ length: 20 }, (_, i) => i + 2),
    );
    assert.notDeepEqual(
      idBySeq,
      [...idBySeq].sort((a, b) => a - b),
      'ids followed send order',
    );
    assert.deepEqual(
      sandbox.store.singleMessages(1, 2).map((m) => m.msgId),
      Array.from({ length: 21 }, (_, i) => i + 1),
    );
  });

  it('gives no reply to a body that does not parse, a bad msg_type, an empty text, an unknown group, a non-member', async (t) => {
    const { sandbox, connect } = await sandboxFor(t, { groups: { '600': [1, 2] } });
    const c = await connect(sandbox.dbProxy.port);
    const missingFields = encodeFrame({ commandId: CommandId.MSG_DATA, seqNum: 11 }, Buffer.from('0801', 'hex'));
    const garbage = encodeFrame({ commandId: CommandId.MSG_DATA, seqNum: 12 }, Buffer.from('ffffffffffff', 'hex'));
    const badType = encodePdu(CommandId.MSG_DATA, msgData({ from: 1, to: 2, type: 3 }), 13);
    const empty = encodePdu(CommandId.MSG_DATA, msgData({ from: 1, to: 2, msgData: Buffer.alloc(0) }), 14);
    const unknownGroup = encodePdu(CommandId.MSG_DATA, msgData({ from: 1, to: 601, type: GROUP_TEXT }), 15);
    const nonMember = encodePdu(CommandId.MSG_DATA, msgData({ from: 3, to: 600, type: GROUP_TEXT }), 16);
    await expectNoReplies(c, [missingFields, garbage, badType, empty, unknownGroup, nonMember], 17);
    assert.equal(sandbox.store.count(), 1, 'only the probe is stored');
    const s = sandbox.dbProxy.stats;
    assert.equal(s.parseErrors, 3, 'missing fields, garbage, and an enum value outside MsgType do not parse');
    assert.equal(s.msgDataNoReply, 3);
    assert.equal(s.dropped, 6);
    assert.equal(s.replies, 1);
  });

  it('stores a 3068-byte text; answers a 3069-byte text with a msg_id but does not write it', async (t) => {
    const { sandbox, connect } = await sandboxFor(t);
    const c = await connect(sandbox.dbProxy.port);
    assert.equal(encryptedTextLength(3068), 4096);
    assert.equal(encryptedTextLength(3069), 4120);
    assert.equal(await store(c, { from: 1, to: 2, text: textOfBytes(3068) }, 1), 1);
    assert.equal(await store(c, { from: 1, to: 2, text: textOfBytes(3069) }, 2), 2);
    assert.equal(await store(c, { from: 1, to: 2, text: 'after' }, 3), 3);
    assert.deepEqual(
      sandbox.store.singleMessages(1, 2).map((m) => m.msgId),
      [1, 3],
    );
    assert.equal(sandbox.store.singleMessages(1, 2)[0]?.msgData.length, 4096);
    assert.equal(sandbox.dbProxy.stats.msgDataUnstored, 1);
  });

  it('honours a larger column when configured', async (t) => {
    const { sandbox, connect } = await sandboxFor(t, { maxContentChars: 8192 });
    const c = await connect(sandbox.dbProxy.port);
    assert.equal(await store(c, { from: 1, to: 2, text: textOfBytes(3069) }, 1), 1);
    assert.equal(sandbox.store.singleMessages(1, 2).length, 1);
  });

  it('creates a pair relation twice when its first two messages are handled together (both get msg_id 1)', async (t) => {
    const { sandbox, connect } = await sandboxFor(t);
    const c = await connect(sandbox.dbProxy.port);
    c.sendRaw(
      Buffer.concat([
        encodePdu(CommandId.MSG_DATA, msgData({ from: 1, to: 2, text: 'first' }), 1),
        encodePdu(CommandId.MSG_DATA, msgData({ from: 2, to: 1, text: 'second' }), 2),
      ]),
    );
    const ids = (await c.collect(2, isMsgData)).map((r) => decodeBody(CommandId.MSG_DATA, r.body).msgId);
    assert.deepEqual(ids, [1, 1]);
    assert.equal(sandbox.store.singleMessages(1, 2).length, 1, 'one of them is never read back');
    assert.equal(sandbox.store.allMessages().filter((m) => m.orphaned).length, 1);
    assert.equal(sandbox.dbProxy.stats.duplicateRelations, 1);
    assert.equal(await store(c, { from: 1, to: 2 }, 3), 2, 'later messages use the first relation');
  });

  it('does not race the relation when relationRace is off', async (t) => {
    const { sandbox, connect } = await sandboxFor(t, { relationRace: false });
    const c = await connect(sandbox.dbProxy.port);
    c.sendRaw(
      Buffer.concat([
        encodePdu(CommandId.MSG_DATA, msgData({ from: 1, to: 2 }), 1),
        encodePdu(CommandId.MSG_DATA, msgData({ from: 2, to: 1 }), 2),
      ]),
    );
    const ids = (await c.collect(2, isMsgData)).map((r) => decodeBody(CommandId.MSG_DATA, r.body).msgId);
    assert.deepEqual(ids.sort(), [1, 2]);
  });

  it('ignores unknown commands and keeps serving the connection', async (t) => {
    const { sandbox, connect } = await sandboxFor(t);
    const c = await connect(sandbox.dbProxy.port);
    c.sendRaw(encodeFrame({ commandId: 0x0999, seqNum: 5 }, Buffer.from('hello')));
    c.sendRaw(
      encodeFrame(
        { commandId: CommandId.LOGIN_REQ_USERLOGIN, seqNum: 6 },
        encodeBody(CommandId.OTHER_ROLE_SET, { master: 1 }),
      ),
    );
    assert.equal(await store(c, { from: 1, to: 2 }, 7), 1);
    assert.equal(sandbox.dbProxy.stats.unknownCommands, 2);
    assert.deepEqual(seqs(c.received), [7]);
  });
});
