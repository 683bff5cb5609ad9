/**
 * Finds a batch message we may have stored, by its conversation's history. A chunk's create_time is
 * fixed for all its attempts and a batch sends one message per conversation, so ours is the MsgInfo from
 * our sender with that create_time and our ciphertext. MSG_LIST answers newest create_time first
 * (notes §6): once a page reaches an older create_time, ours cannot come later, so the walk stops there.
 */
import { CommandId, im, type DbProxyPool } from '@ttpush/pdu';

/** Whatever sends db_proxy requests: the pool, or TeamTalk (which holds the in-flight gate around them). */
export type DbRequester = Pick<DbProxyPool, 'request'>;
import type { Recipient } from '@ttpush/contract';

const PAGE = 50;
const MAX_PAGES = 40;

/** Our message's msg_id, or 0 when it is not stored. Rejects when db_proxy cannot be asked. */
export async function readBackSince(
  db: DbRequester,
  from: number,
  to: Recipient,
  createTime: number,
  msgData: Buffer,
): Promise<number> {
  const group = 'group' in to;
  const sessionType = group ? im.SessionType.SESSION_TYPE_GROUP : im.SessionType.SESSION_TYPE_SINGLE;
  const sessionId = group ? to.group : to.user;
  let begin = 0;
  for (let page = 0; page < MAX_PAGES; page++) {
    const rsp = await db.request(
      CommandId.MSG_LIST_REQUEST,
      { userId: from, sessionType, sessionId, msgIdBegin: begin, msgCnt: PAGE },
      { responseCommand: CommandId.MSG_LIST_RESPONSE },
    );
    const list = rsp.msgList ?? [];
    let lowest = Infinity;
    for (const m of list) {
      if (m.createTime < createTime) return 0;
      if (m.msgId < lowest) lowest = m.msgId;
      if (
        m.createTime === createTime &&
        m.fromSessionId === from &&
        m.msgData.length === msgData.length &&
        msgData.equals(m.msgData)
      ) {
        return m.msgId;
      }
    }
    if (list.length < PAGE || lowest <= 1) return 0;
    begin = lowest - 1;
  }
  return 0;
}
