/**
 * One received MSG_DATA as the JSON line `ttpush listen` prints. Pure: no I/O.
 */
import type { Part } from '@ttpush/contract';
import { splitParts } from '@ttpush/store';
import { im, type TeamTalkCipher } from '@ttpush/pdu';

export type SessionKind = 'single' | 'group';

/**
 * The printed object; keys in this order. `parts` only when the text holds a picture (the text and image
 * URLs the TeamTalk clients show, in order); `error` only when the text could not be read.
 */
export interface MessageLine {
  from: number;
  to: number;
  session_type: SessionKind;
  msg_id: number;
  create_time: number;
  text: string | null;
  parts?: Part[];
  error?: string;
}

/** Group message types are 0x11 and 0x12, single ones 0x01 and 0x02 (protocol notes §4). */
export function sessionKindOf(msgType: im.MsgType): SessionKind {
  return msgType === im.MsgType.MSG_TYPE_GROUP_TEXT || msgType === im.MsgType.MSG_TYPE_GROUP_AUDIO ? 'group' : 'single';
}

export function toMessageLine(msg: im.IMMsgData, cipher: TeamTalkCipher): MessageLine {
  const line: MessageLine = {
    from: msg.fromUserId,
    to: msg.toSessionId,
    session_type: sessionKindOf(msg.msgType),
    msg_id: msg.msgId,
    create_time: msg.createTime,
    text: null,
  };
  if (msg.msgType === im.MsgType.MSG_TYPE_SINGLE_AUDIO || msg.msgType === im.MsgType.MSG_TYPE_GROUP_AUDIO) {
    // Audio msg_data is raw audio, not cipher text: there is no text to show.
    line.error = `audio message (${msg.msgData.length} bytes), not decoded`;
    return line;
  }
  try {
    line.text = cipher.decryptToString(msg.msgData);
    const parts = splitParts(line.text);
    if (parts.some((p) => 'image' in p)) line.parts = parts;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    line.error = typeof code === 'string' ? `${code}: ${(err as Error).message}` : String(err);
  }
  return line;
}

/** The JSON text of a message line, newline included. */
export function formatMessageLine(msg: im.IMMsgData, cipher: TeamTalkCipher): string {
  return `${JSON.stringify(toMessageLine(msg, cipher))}\n`;
}
