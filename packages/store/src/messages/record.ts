/**
 * A message as stored in its Redis hash (contract MESSAGE_FIELDS), and its public view. The record's text is dropped
 * once terminal, unless it was sent as parts (the view splits the text back into them).
 */
import { MESSAGE_FIELDS as F } from '@ttpush/contract';
import { splitParts } from './parts.ts';
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
  if (!h[F.status]) return null;
  const toId = Number(h[F.to]);
  const metadata = h[F.metadata];
  return {
    id,
    from: Number(h[F.from]),
    to: h[F.toType] === 'g' ? { group: toId } : { user: toId },
    text: h[F.text] ?? '',
    priority: (h[F.priority] as Priority) ?? 'normal',
    status: h[F.status] as MessageStatus,
    attempts: Number(h[F.attempts] ?? 0),
    createdAt: Number(h[F.createdAt]),
    updatedAt: Number(h[F.updatedAt] ?? h[F.createdAt]),
    sendAt: num(h[F.sendAt]),
    deadline: num(h[F.deadline]),
    sentAt: num(h[F.sentAt]),
    msgId: num(h[F.msgId]),
    errorCode: h[F.errorCode] || null,
    errorMessage: h[F.errorMessage] || null,
    metadata: metadata ? (JSON.parse(metadata) as Record<string, unknown>) : null,
    app: h[F.app] ?? '',
    notify: h[F.notify] === '1',
    conv: h[F.conv] ?? '',
    createTime: num(h[F.createTime]),
    floor: num(h[F.floor]),
    callbackUrl: h[F.callbackUrl] || null,
    ...(h[F.withParts] === '1' && { withParts: true }),
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
