/**
 * The TeamTalk message cipher (protocol notes §5): AES-256-ECB over a zero-filled buffer whose
 * last 4 bytes hold the plaintext length (big-endian), then standard base64.
 *
 * One instance per key: the underlying ECB cipher objects are created once and reused, since
 * ECB over whole 16-byte blocks keeps no state between calls to `update()`.
 */
import { createCipheriv, createDecipheriv, type Cipher, type Decipher } from 'node:crypto';
import { CipherError } from './errors.ts';

const BLOCK = 16;
const TRAILER = 4;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Bytes of ciphertext for a plaintext of `n` bytes: room for the 4-byte trailer is always kept. */
export function cipherLength(n: number): number {
  const rem = n % BLOCK;
  const blocks = Math.ceil(n / BLOCK) + (rem === 0 || rem > BLOCK - TRAILER ? 1 : 0);
  return blocks * BLOCK;
}

/** Characters of base64 `msg_data` for a plaintext of `n` bytes. */
export function encryptedTextLength(n: number): number {
  return Math.ceil(cipherLength(n) / 3) * 4;
}

export class TeamTalkCipher {
  private readonly encryptor: Cipher;
  private readonly decryptor: Decipher;

  /** @param key the 32-character aesKey string of the TeamTalk servers, or its 32 bytes. */
  constructor(key: string | Uint8Array) {
    const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key);
    if (bytes.length !== 32) {
      throw new CipherError(
        'CIPHER_BAD_KEY',
        `the AES key must be exactly 32 bytes (the servers' 32-character aesKey), got ${bytes.length}`,
      );
    }
    this.encryptor = createCipheriv('aes-256-ecb', bytes, null).setAutoPadding(false);
    this.decryptor = createDecipheriv('aes-256-ecb', bytes, null).setAutoPadding(false);
    bytes.fill(0);
  }

  /** Encrypts UTF-8 text (or raw bytes) into the base64 text TeamTalk stores as `msg_data`. */
  encryptToBase64(plaintext: string | Uint8Array): string {
    return this.encrypt(plaintext).toString('base64');
  }

  /** Encrypts into raw cipher bytes (before base64). */
  encrypt(plaintext: string | Uint8Array): Buffer {
    const text = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
    const n = text.length;
    if (n === 0) throw new CipherError('CIPHER_EMPTY_PLAINTEXT', 'cannot encrypt an empty text: TeamTalk refuses it');
    const buf = Buffer.alloc(cipherLength(n));
    buf.set(text, 0);
    buf.writeUInt32BE(n, buf.length - TRAILER);
    return this.encryptor.update(buf);
  }

  /** Decrypts base64 `msg_data` (string or its ASCII bytes) to the plaintext bytes. */
  decrypt(msgData: string | Uint8Array): Buffer {
    const text = typeof msgData === 'string' ? msgData : Buffer.from(msgData).toString('latin1');
    if (text.length === 0 || !BASE64.test(text)) {
      throw new CipherError('CIPHER_BAD_BASE64', 'msg_data is not valid standard base64 text');
    }
    const raw = Buffer.from(text, 'base64');
    if (raw.length === 0 || raw.length % BLOCK !== 0) {
      throw new CipherError(
        'CIPHER_BAD_BLOCK_LENGTH',
        `ciphertext is ${raw.length} bytes: it must be a non-zero multiple of 16`,
      );
    }
    const plain = this.decryptor.update(raw);
    const n = plain.readUInt32BE(plain.length - TRAILER);
    if (n === 0 || n > plain.length - TRAILER) {
      throw new CipherError(
        'CIPHER_BAD_LENGTH_TRAILER',
        `length trailer says ${n} bytes, impossible in ${plain.length} decrypted bytes (wrong key or corrupt text)`,
      );
    }
    return plain.subarray(0, n);
  }

  /** Decrypts to a UTF-8 string. */
  decryptToString(msgData: string | Uint8Array): string {
    return this.decrypt(msgData).toString('utf8');
  }
}
