/**
 * What accepting a request writes: the record's hash fields (MESSAGE_FIELDS) and the same record as read back, so
 * the api answers without reading it.
 */
import { MESSAGE_FIELDS as F, type SubmitRequest } from '@ttpush/contract';
import type { MessageRecord } from './record.ts';

export interface NewMessage {
  /** Its id (contract newMessageId: it names the partition of `conv`). */
  id: string;
  /** Its conversation (contract conversationOf). */
  conv: string;
  /** Accept time (ms). */
  now: number;
  request: SubmitRequest;
}

/** Scheduled when its send time is still ahead; queued on its lane otherwise. */
export function isScheduled(m: NewMessage): boolean {
  return m.request.sendAt !== undefined && m.request.sendAt > m.now;
}

/**
 * The record's field/value pairs, the optional ones only when given. Fields whose value is the one parseRecord
 * reads for an absent field are left out (every record is kept for TTPUSH_RECORD_TTL: each field costs bytes in
 * every one): the recipient type of a user, priority normal, attempts 0, updated at = created at.
 */
export function newMessageFields(m: NewMessage): (string | number)[] {
  const req = m.request;
  const to = req.to;
  const group = 'group' in to;
  const fields: (string | number)[] = [
    F.from, req.from,
    F.to, group ? to.group : to.user,
    F.text, req.text,
    F.status, isScheduled(m) ? 'scheduled' : 'queued',
    F.createdAt, m.now,
    F.app, req.app,
    F.conv, m.conv,
  ]; // prettier-ignore
  if (group) fields.push(F.toType, 'g');
  if (req.priority !== 'normal') fields.push(F.priority, req.priority);
  if (req.sendAt !== undefined) fields.push(F.sendAt, req.sendAt);
  if (req.deadline !== undefined) fields.push(F.deadline, req.deadline);
  if (req.metadata) fields.push(F.metadata, JSON.stringify(req.metadata));
  if (req.notify) fields.push(F.notify, '1');
  if (req.key !== undefined) fields.push(F.key, req.key);
  if (req.callbackUrl) fields.push(F.callbackUrl, req.callbackUrl);
  if (req.withParts) fields.push(F.withParts, '1');
  return fields;
}

/** The record newMessageFields writes, as parseRecord reads it. */
export function newMessageRecord(m: NewMessage): MessageRecord {
  const req = m.request;
  return {
    id: m.id, from: req.from, to: req.to, text: req.text, priority: req.priority,
    status: isScheduled(m) ? 'scheduled' : 'queued', attempts: 0, createdAt: m.now, updatedAt: m.now,
    sendAt: req.sendAt ?? null, deadline: req.deadline ?? null, sentAt: null, msgId: null, errorCode: null, errorMessage: null,
    metadata: req.metadata ?? null, app: req.app, notify: !!req.notify, conv: m.conv, createTime: null, floor: null,
    callbackUrl: req.callbackUrl ?? null, ...(req.withParts && { withParts: true }),
  }; // prettier-ignore
}
