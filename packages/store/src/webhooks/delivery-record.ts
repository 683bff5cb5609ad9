/**
 * A delivery (one event to one endpoint or callback URL) as stored in its Redis hash, and its views. Fields:
 *   app · ep endpoint id ('' for a callback_url) · sem concurrency group (endpoint id, or cb.<app>) · url
 *   eid event id · type · body (the JSON sent) · s status · a attempts · tries attempts since the last (re)delivery
 *   next (ms) · ca/ua (ms) · ls last HTTP status · le last error
 */
import type {
  AnyWebhookEvent,
  AttemptView,
  DeliveryDetail,
  DeliveryStatus,
  DeliveryView,
  EventBody,
} from '@ttpush/contract';

export interface DeliveryRecord {
  id: string;
  app: string;
  endpoint: string | null;
  sem: string;
  url: string;
  eventId: string;
  type: AnyWebhookEvent;
  body: string;
  status: DeliveryStatus;
  attempts: number;
  tries: number;
  next: number | null;
  createdAt: number;
  updatedAt: number;
  lastStatus: number | null;
  lastError: string | null;
}

const num = (v: string | undefined) => (v === undefined || v === '' ? null : Number(v));
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function parseDelivery(id: string, h: Record<string, string>): DeliveryRecord | null {
  if (!h.s || !h.app) return null;
  return {
    id,
    app: h.app,
    endpoint: h.ep || null,
    sem: h.sem ?? '',
    url: h.url ?? '',
    eventId: h.eid ?? '',
    type: h.type as AnyWebhookEvent,
    body: h.body ?? '{}',
    status: h.s as DeliveryStatus,
    attempts: Number(h.a ?? 0),
    tries: Number(h.tries ?? 0),
    next: num(h.next),
    createdAt: Number(h.ca),
    updatedAt: Number(h.ua ?? h.ca),
    lastStatus: num(h.ls),
    lastError: h.le || null,
  };
}

export function toDeliveryView(r: DeliveryRecord): DeliveryView {
  return {
    id: r.id,
    event_id: r.eventId,
    event_type: r.type,
    endpoint: r.endpoint,
    url: r.url,
    status: r.status,
    attempts: r.attempts,
    next_attempt_at: r.status === 'pending' ? iso(r.next) : null,
    created_at: iso(r.createdAt)!,
    updated_at: iso(r.updatedAt)!,
    last_status: r.lastStatus,
    last_error: r.lastError,
  };
}

export function toDeliveryDetail(r: DeliveryRecord, attempts: string[]): DeliveryDetail {
  return {
    ...toDeliveryView(r),
    payload: JSON.parse(r.body) as EventBody,
    attempt_log: attempts.map((a) => JSON.parse(a) as AttemptView),
  };
}

/** The hash fields of a new delivery, due now. */
export function newDeliveryFields(d: {
  app: string;
  /** Its concurrency group (delivery-queue.ts groupOf). */
  sem: string;
  endpoint: string | null;
  url: string;
  eventId: string;
  type: AnyWebhookEvent;
  body: string;
  now: number;
}): (string | number)[] {
  return [
    'app', d.app, 'ep', d.endpoint ?? '', 'sem', d.sem, 'url', d.url,
    'eid', d.eventId, 'type', d.type, 'body', d.body, 's', 'pending', 'a', 0, 'tries', 0,
    'next', d.now, 'ca', d.now, 'ua', d.now,
  ]; // prettier-ignore
}
