import { test } from 'node:test';
import assert from 'node:assert/strict';
import { im, TeamTalkCipher } from '@ttpush/pdu';
import { aesVectors } from '@ttpush/testkit';
import { formatMessageLine, sessionKindOf, toMessageLine } from '../src/listen/message-line.ts';

const STOCK = '12345678901234567890123456789012';
const cipher = new TeamTalkCipher(STOCK);

function msg(fields: Partial<im.IMMsgData.$Properties>): im.IMMsgData {
  return new im.IMMsgData({
    fromUserId: 1,
    toSessionId: 2,
    msgId: 7,
    createTime: 1700000000,
    msgType: im.MsgType.MSG_TYPE_SINGLE_TEXT,
    msgData: Buffer.alloc(0),
    ...fields,
  });
}

test('a single text from the real C++ cipher prints as one JSON line with keys in order', () => {
  // The oracle is a vector made by the real C++ implementation, not our encoder.
  const vector = aesVectors().find((v) => v.key === STOCK && v.plaintext.length > 1);
  assert.ok(vector, 'a stock-key vector');
  const line = formatMessageLine(msg({ msgData: Buffer.from(vector.ciphertext) }), cipher);
  assert.ok(line.endsWith('\n'));
  assert.equal(line.indexOf('\n'), line.length - 1, 'exactly one line');
  const parsed: unknown = JSON.parse(line);
  assert.deepEqual(Object.keys(parsed as object), ['from', 'to', 'session_type', 'msg_id', 'create_time', 'text']);
  assert.deepEqual(parsed, {
    from: 1,
    to: 2,
    session_type: 'single',
    msg_id: 7,
    create_time: 1700000000,
    text: vector.plaintext.toString('utf8'),
  });
});

test('every stock-key vector decrypts to its plaintext in the printed text', () => {
  for (const v of aesVectors().filter((x) => x.key === STOCK)) {
    const printed = toMessageLine(msg({ msgData: Buffer.from(v.ciphertext) }), cipher);
    assert.equal(printed.text, v.plaintext.toString('utf8'));
    assert.equal(printed.error, undefined);
  }
});

test('group messages are session_type group', () => {
  const text = cipher.encryptToBase64('群消息');
  const line = toMessageLine(
    msg({ msgType: im.MsgType.MSG_TYPE_GROUP_TEXT, toSessionId: 900, msgData: Buffer.from(text) }),
    cipher,
  );
  assert.equal(line.session_type, 'group');
  assert.equal(line.to, 900);
  assert.equal(line.text, '群消息');
  assert.equal(sessionKindOf(im.MsgType.MSG_TYPE_GROUP_AUDIO), 'group');
  assert.equal(sessionKindOf(im.MsgType.MSG_TYPE_SINGLE_AUDIO), 'single');
});

test('a text that does not decrypt prints text null with an error, after the other keys', () => {
  const other = new TeamTalkCipher('abcdefghijklmnopqrstuvwxyz012345');
  for (const data of ['not base64 at all!', 'QUJD', other.encryptToBase64('secret'), '']) {
    const line = formatMessageLine(msg({ msgData: Buffer.from(data) }), cipher);
    const parsed = JSON.parse(line) as Record<string, unknown>;
    assert.equal(parsed.text, null, data);
    assert.match(String(parsed.error), /^CIPHER_/, data);
    assert.deepEqual(Object.keys(parsed).slice(-2), ['text', 'error']);
  }
});

test('audio messages are not decrypted', () => {
  const line = toMessageLine(msg({ msgType: im.MsgType.MSG_TYPE_SINGLE_AUDIO, msgData: Buffer.alloc(40) }), cipher);
  assert.equal(line.text, null);
  assert.match(line.error ?? '', /audio message \(40 bytes\)/);
});

test('a text with two pictures prints its parts beside the raw text; a plain text prints none', () => {
  // The markup written out from the protocol notes §11, not made by joinParts.
  const raw = 'Look &$#@~^@[{:https://e.example/1.png:}]&$~@#@&$#@~^@[{:https://e.example/2.png:}]&$~@#@ 中';
  const parsed = JSON.parse(
    formatMessageLine(msg({ msgData: Buffer.from(cipher.encryptToBase64(raw)) }), cipher),
  ) as Record<string, unknown>;
  assert.deepEqual(Object.keys(parsed), ['from', 'to', 'session_type', 'msg_id', 'create_time', 'text', 'parts']);
  assert.equal(parsed.text, raw);
  assert.deepEqual(parsed.parts, [
    { text: 'Look ' },
    { image: 'https://e.example/1.png' },
    { image: 'https://e.example/2.png' },
    { text: ' 中' },
  ]);
  const plain = toMessageLine(msg({ msgData: Buffer.from(cipher.encryptToBase64('no picture')) }), cipher);
  assert.equal('parts' in plain, false);
});
