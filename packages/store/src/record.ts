/**
 * A message as stored in its Redis hash, and its public view. Short field names keep the hash small.
 *   f from · tt 'u'|'g' · to recipient id · x text (dropped once terminal) · p priority · s status · a attempts
 *   ca created (ms) · ua updated (ms) · sa send_at (ms) · dl deadline (ms) · st sent (ms) · mid TeamTalk msg_id
 *   ec/em error code/message · md metadata JSON · app app name · n notify flag · c conversation
 *   ct TeamTalk create_time used (s) · fl floor: the conversation's last msg_id known before the send
 *   k the sending key's public id (read by MessageService.owner only)
 *   cb callback_url (webhooks: message.sent / message.failed go there too)
 *   pp '1' when sent as `parts` (the view splits the text back into them)
 */
import { splitParts } from '@ttpush/contract';
import type { MessageStatus, MessageView, Priority, Recipient } from '@ttpush/contract';

/** How long a terminal record is kept when TTPUSH_RECORD_TTL is not set. */
export const DEFAULT_RECORD_TTL_MS = 7 * 86_400_000;

export type RecordHash = Record<string, string>;

export interface MessageRecord {
  id: string;
  from: number;
  to: Recipient;
  text: string;
  priority: Priority;
  status: MessageStatus;
  attempts: number;
  createdAt: number;
  updatedAt: number;
  sendAt: number | null;
  deadline: number | null;
  sentAt: number | null;
  msgId: number | null;
  errorCode: string | null;
  errorMessage: string | null;
  metadata: Record<string, unknown> | null;
  app: string;
  notify: boolean;
  conv: string;
  createTime: number | null;
  floor: number | null;
  callbackUrl: string | null;
  /** Sent as `parts` (optional: records built before this field left it out). */
  withParts?: boolean;
}

function num(v: string | undefined): number | null {
  return v === undefined || v === '' ? null : Number(v);
}

export function parseRecord(id: string, h: RecordHash): MessageRecord | null {
  if (!h.s) return null;
  const toId = Number(h.to);
  return {
    id,
    from: Number(h.f),
    to: h.tt === 'g' ? { group: toId } : { user: toId },
    text: h.x ?? '',
    priority: (h.p as Priority) ?? 'normal',
    status: h.s as MessageStatus,
    attempts: Number(h.a ?? 0),
    createdAt: Number(h.ca),
    updatedAt: Number(h.ua ?? h.ca),
    sendAt: num(h.sa),
    deadline: num(h.dl),
    sentAt: num(h.st),
    msgId: num(h.mid),
    errorCode: h.ec || null,
    errorMessage: h.em || null,
    metadata: h.md ? (JSON.parse(h.md) as Record<string, unknown>) : null,
    app: h.app ?? '',
    notify: h.n === '1',
    conv: h.c ?? '',
    createTime: num(h.ct),
    floor: num(h.fl),
    callbackUrl: h.cb || null,
    ...(h.pp === '1' && { withParts: true }),
  };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function toView(r: MessageRecord): MessageView {
  return {
    id: r.id,
    status: r.status,
    from: r.from,
    to: r.to,
    priority: r.priority,
    msg_id: r.msgId && r.msgId > 0 ? r.msgId : null,
    attempts: r.attempts,
    created_at: iso(r.createdAt)!,
    updated_at: iso(r.updatedAt)!,
    send_at: iso(r.sendAt),
    deadline: iso(r.deadline),
    sent_at: iso(r.sentAt),
    error: r.errorCode ? { code: r.errorCode, message: r.errorMessage ?? '' } : null,
    metadata: r.metadata,
    ...(r.withParts === true && { parts: splitParts(r.text) }),
  };
}
