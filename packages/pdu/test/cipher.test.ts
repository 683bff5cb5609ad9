/**
 * The TeamTalk message cipher against vectors made by the real C++ code, and its typed refusals.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { CipherError, TeamTalkCipher, cipherLength, encryptedTextLength } from '@ttpush/pdu';
import { aesVectors } from '@ttpush/testkit';
import { STOCK_AES_KEY } from './helpers/vector-expectations.ts';

const vectors = aesVectors();

function isCipherError(code: string) {
  return (err: unknown) => err instanceof CipherError && err.code === code;
}

/** AES-256-ECB of whole blocks straight from node:crypto: an oracle independent of TeamTalkCipher. */
function rawEncrypt(key: string, plain: Buffer): string {
  const c = createCipheriv('aes-256-ecb', Buffer.from(key, 'utf8'), null).setAutoPadding(false);
  return Buffer.concat([c.update(plain), c.final()]).toString('base64');
}

describe('TeamTalkCipher against the C++ vectors', () => {
  it('has vectors for two keys, including a 1000-byte text', () => {
    assert.ok(vectors.length >= 20);
    assert.equal(new Set(vectors.map((v) => v.key)).size, 2);
    assert.ok(vectors.some((v) => v.plaintext.length === 1000));
  });

  vectors.forEach((v, i) => {
    it(`vector ${i + 1} (${v.plaintext.length} bytes, key ${v.key.slice(0, 4)}…) both ways`, () => {
      const cipher = new TeamTalkCipher(v.key);
      assert.equal(cipher.encryptToBase64(v.plaintext), v.ciphertext);
      assert.deepEqual(cipher.decrypt(v.ciphertext), v.plaintext);
      assert.deepEqual(cipher.decrypt(Buffer.from(v.ciphertext, 'latin1')), v.plaintext);
      assert.equal(Buffer.from(v.ciphertext, 'base64').length, cipherLength(v.plaintext.length));
      assert.equal(v.ciphertext.length, encryptedTextLength(v.plaintext.length));
    });
  });

  it('encrypts UTF-8 text the same as its bytes and decrypts it back to the string', () => {
    const cipher = new TeamTalkCipher(STOCK_AES_KEY);
    const text = '你好, TeamTalk 🚀';
    assert.equal(cipher.encryptToBase64(text), cipher.encryptToBase64(Buffer.from(text, 'utf8')));
    assert.equal(cipher.decryptToString(cipher.encryptToBase64(text)), text);
  });

  it('accepts the key as 32 bytes as well as a 32-character string', () => {
    const v = vectors[0]!;
    assert.equal(new TeamTalkCipher(Buffer.from(v.key, 'utf8')).encryptToBase64(v.plaintext), v.ciphertext);
  });

  it('keeps room for the 4-byte trailer in the block count (protocol notes §5)', () => {
    const cases: [number, number][] = [
      [1, 16],
      [12, 16],
      [13, 32],
      [16, 32],
      [17, 32],
      [28, 32],
      [29, 48],
      [32, 48],
    ];
    for (const [n, bytes] of cases) assert.equal(cipherLength(n), bytes, `n = ${n}`);
    // The stock varchar(4096) column holds at most 3068 plaintext bytes.
    assert.equal(encryptedTextLength(3068), 4096);
    assert.ok(encryptedTextLength(3069) > 4096);
  });
});

describe('TeamTalkCipher refusals', () => {
  it('refuses a 31- or 33-byte key', () => {
    assert.throws(() => new TeamTalkCipher(STOCK_AES_KEY.slice(0, 31)), isCipherError('CIPHER_BAD_KEY'));
    assert.throws(() => new TeamTalkCipher(STOCK_AES_KEY + '3'), isCipherError('CIPHER_BAD_KEY'));
    assert.throws(() => new TeamTalkCipher(new Uint8Array(33)), isCipherError('CIPHER_BAD_KEY'));
  });

  it('refuses an empty plaintext', () => {
    const cipher = new TeamTalkCipher(STOCK_AES_KEY);
    assert.throws(() => cipher.encryptToBase64(''), isCipherError('CIPHER_EMPTY_PLAINTEXT'));
    assert.throws(() => cipher.encryptToBase64(new Uint8Array(0)), isCipherError('CIPHER_EMPTY_PLAINTEXT'));
  });

  it('refuses text that is not standard base64', () => {
    const cipher = new TeamTalkCipher(STOCK_AES_KEY);
    for (const bad of [
      '',
      '!!!!',
      'abc',
      'ab=c',
      '8+lyaGSNdKxdsEEADyYxvw',
      '8-lyaGSNdKxdsEEADyYxvw==',
      ' 8+lyaGSNdKxdsEEADyYxvw==',
    ]) {
      assert.throws(() => cipher.decrypt(bad), isCipherError('CIPHER_BAD_BASE64'), JSON.stringify(bad));
    }
  });

  it('refuses a ciphertext that is not whole 16-byte blocks', () => {
    const cipher = new TeamTalkCipher(STOCK_AES_KEY);
    assert.throws(() => cipher.decrypt(Buffer.alloc(15).toString('base64')), isCipherError('CIPHER_BAD_BLOCK_LENGTH'));
    assert.throws(() => cipher.decrypt(Buffer.alloc(17).toString('base64')), isCipherError('CIPHER_BAD_BLOCK_LENGTH'));
  });

  it('refuses a length trailer larger than the buffer before it', () => {
    const cipher = new TeamTalkCipher(STOCK_AES_KEY);
    // One block: 12 bytes of text room, trailer 13. With 12 it is valid, which proves the bound is exact.
    const block = Buffer.alloc(16, 0x41);
    block.writeUInt32BE(13, 12);
    assert.throws(() => cipher.decrypt(rawEncrypt(STOCK_AES_KEY, block)), isCipherError('CIPHER_BAD_LENGTH_TRAILER'));
    block.writeUInt32BE(12, 12);
    assert.equal(cipher.decryptToString(rawEncrypt(STOCK_AES_KEY, block)), 'AAAAAAAAAAAA');
  });

  it('refuses a zero length trailer', () => {
    const cipher = new TeamTalkCipher(STOCK_AES_KEY);
    assert.throws(
      () => cipher.decrypt(rawEncrypt(STOCK_AES_KEY, Buffer.alloc(32, 0))),
      isCipherError('CIPHER_BAD_LENGTH_TRAILER'),
    );
  });

  it('with the wrong key, gives CIPHER_BAD_LENGTH_TRAILER or a wrong text, never a crash', () => {
    const wrong = new TeamTalkCipher('abcdefghijklmnopqrstuvwxyzABCDEF');
    let trailerRefusals = 0;
    for (const v of vectors.filter((x) => x.key === STOCK_AES_KEY)) {
      try {
        assert.notDeepEqual(wrong.decrypt(v.ciphertext), v.plaintext);
      } catch (err) {
        assert.ok(isCipherError('CIPHER_BAD_LENGTH_TRAILER')(err), String(err));
        trailerRefusals++;
      }
    }
    // A random 32-bit trailer is almost never under the buffer length: nearly every case is refused.
    assert.ok(trailerRefusals > 0);
  });
});
