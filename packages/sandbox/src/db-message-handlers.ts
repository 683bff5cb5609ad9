/**
 * db_proxy_server's MSG service (notes §6): storing IMMsgData, MSG_GET_LATEST_MSG_ID, MSG_LIST.
 * Each handler returns the reply body, or undefined for "no reply at all".
 */
import { im } from '@ttpush/pdu';
import type { SandboxStore } from './store.ts';

export interface MessageContext {
  readonly store: SandboxStore;
  /** The `content` column size, in characters (varchar(4096) in the stock schema). */
  readonly maxContentChars: number;
}

/** What storing one IMMsgData did; `undefined` means the request gets no reply. */
export type StoreOutcome = { msgId: number; written: boolean } | undefined;

const ZERO = { msgId: 0, written: false } as const;

/**
 * Allocates a msg_id and writes the row, as db_proxy does before it answers:
 * - no reply: msg_type not one of the four, empty msg_data, group unknown or sender not a member;
 * - msg_id 0 (a reply, but a failure): single text to oneself, a user id of 0;
 * - a text longer than the column: an id is allocated and answered, the row is not written.
 */
export function storeMessage(ctx: MessageContext, msg: im.IMMsgData): StoreOutcome {
  const type = msg.msgType;
  const data = msg.msgData;
  if (data.length === 0) return undefined;
  const from = msg.fromUserId;
  const to = msg.toSessionId;
  if (type === im.MsgType.MSG_TYPE_GROUP_TEXT || type === im.MsgType.MSG_TYPE_GROUP_AUDIO) {
    const group = ctx.store.findGroup(to);
    if (!group || !group.members.has(from)) return undefined;
    if (from === 0) return ZERO;
    const written = fitsColumn(data, ctx.maxContentChars);
    return { msgId: ctx.store.storeGroup(from, to, msg.createTime, type, data, written), written };
  }
  if (type === im.MsgType.MSG_TYPE_SINGLE_TEXT || type === im.MsgType.MSG_TYPE_SINGLE_AUDIO) {
    if (from === to || from === 0 || to === 0) return ZERO;
    const written = fitsColumn(data, ctx.maxContentChars);
    return { msgId: ctx.store.storeSingle(from, to, msg.createTime, type, data, written), written };
  }
  return undefined;
}

/** MSG_GET_LATEST_MSG_ID_REQ: the highest msg_id actually written for the conversation. */
export function latestMsgId(ctx: MessageContext, req: im.IMGetLatestMsgIdReq): im.IMGetLatestMsgIdRsp.$Properties {
  const conv =
    req.sessionType === im.SessionType.SESSION_TYPE_GROUP
      ? ctx.store.findGroupConversation(req.sessionId)
      : ctx.store.pair(req.userId, req.sessionId, false);
  return {
    userId: req.userId,
    sessionType: req.sessionType,
    sessionId: req.sessionId,
    latestMsgId: conv?.latestWritten ?? 0,
    attachData: req.attachData,
  };
}

/** MSG_LIST_REQUEST: a group's history is empty for a user who is not a member. */
export function messageList(ctx: MessageContext, req: im.IMGetMsgListReq): im.IMGetMsgListRsp.$Properties {
  let conv;
  if (req.sessionType === im.SessionType.SESSION_TYPE_GROUP) {
    const group = ctx.store.findGroup(req.sessionId);
    conv = group?.members.has(req.userId) ? ctx.store.findGroupConversation(req.sessionId) : undefined;
  } else if (req.userId !== req.sessionId) {
    conv = ctx.store.pair(req.userId, req.sessionId, false);
  }
  return {
    userId: req.userId,
    sessionType: req.sessionType,
    sessionId: req.sessionId,
    msgIdBegin: req.msgIdBegin,
    msgList: ctx.store.listMessages(conv, { msgIdBegin: req.msgIdBegin, msgCnt: req.msgCnt }),
    attachData: req.attachData,
  };
}

/**
 * Whether the text fits the column. MySQL counts characters: base64 is ASCII, so the byte length
 * decides, and only a longer non-ASCII text is decoded to count its characters.
 */
export function fitsColumn(data: Uint8Array, maxChars: number): boolean {
  if (data.length <= maxChars) return true;
  const text = Buffer.from(data.buffer, data.byteOffset, data.length).toString('utf8');
  let chars = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) chars++;
    if (chars > maxChars) return false;
  }
  return true;
}
