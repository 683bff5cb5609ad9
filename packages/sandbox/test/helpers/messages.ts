/**
 * Builders of request bodies for the contract tests (inputs only: expected bytes come from the
 * shared vectors or from literal values).
 */
import { CommandId, TeamTalkCipher, im, type BodyInput, type Frame } from '@ttpush/pdu';

/** The stock aesKey: public, fine for tests. */
export const AES_KEY = '12345678901234567890123456789012';
export const cipher = new TeamTalkCipher(AES_KEY);

export const SINGLE_TEXT = im.MsgType.MSG_TYPE_SINGLE_TEXT;
export const GROUP_TEXT = im.MsgType.MSG_TYPE_GROUP_TEXT;

export interface MsgInput {
  from: number;
  to: number;
  text?: string;
  /** msg_data as given (overrides `text`). */
  msgData?: Uint8Array;
  type?: number;
  createTime?: number;
  attach?: Uint8Array;
}

export function msgData(m: MsgInput): BodyInput<typeof CommandId.MSG_DATA> {
  return {
    fromUserId: m.from,
    toSessionId: m.to,
    msgId: 0,
    createTime: m.createTime ?? 1_764_288_000,
    msgType: (m.type ?? SINGLE_TEXT) as im.MsgType,
    msgData: m.msgData ?? Buffer.from(cipher.encryptToBase64(m.text ?? 'hello')),
    ...(m.attach ? { attachData: m.attach } : {}),
  };
}

/** A plaintext of exactly `n` UTF-8 bytes. */
export function textOfBytes(n: number): string {
  return 'x'.repeat(n);
}

export function seqs(frames: Frame[]): number[] {
  return frames.map((f) => f.seqNum);
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
