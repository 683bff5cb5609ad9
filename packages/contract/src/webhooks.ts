/**
 * The webhook contract shared by api and worker: event types, endpoint and delivery views. Event type
 * names and view fields are the public API (issue 6): never rename them.
 */
import { randomBytes } from 'node:crypto';

/** Events an endpoint may subscribe to. */
export const WEBHOOK_EVENTS = ['message.sent', 'message.failed', 'batch.completed'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
/** Sent to an app's other endpoints when one is disabled, whatever they subscribed to. */
export const ENDPOINT_DISABLED_EVENT = 'endpoint.disabled';
export type AnyWebhookEvent = WebhookEvent | typeof ENDPOINT_DISABLED_EVENT;

/** What a receiver gets as the request body. */
export interface EventBody {
  type: AnyWebhookEvent;
  /** RFC 3339: when the event happened. */
  timestamp: string;
  data: unknown;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'dead';
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'delivered', 'dead'];

export interface EndpointView {
  id: string;
  url: string;
  events: WebhookEvent[];
  description: string | null;
  enabled: boolean;
  /** Why the endpoint was disabled (by ttpush after failing for TTPUSH_WEBHOOK_DISABLE_AFTER, or by the app). */
  disabled_reason: string | null;
  disabled_at: string | null;
  /** Since when every attempt failed (null: the last attempt succeeded, or none yet). */
  failing_since: string | null;
  /** While set, the previous secret still signs too (after a rotation). */
  previous_secret_expires_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface AttemptView {
  at: string;
  /** The receiver's HTTP status; null when no answer came (see `error`). */
  status: number | null;
  /** e.g. timeout, connection_refused, address_refused, redirect_refused; null on an HTTP answer. */
  error: string | null;
  duration_ms: number;
}

export interface DeliveryView {
  id: string;
  /** The webhook-id header: the same on every attempt and redelivery; receivers deduplicate on it. */
  event_id: string;
  event_type: AnyWebhookEvent;
  /** The endpoint id, or null for a request's callback_url. */
  endpoint: string | null;
  url: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: string | null;
  created_at: string;
  updated_at: string;
  last_status: number | null;
  last_error: string | null;
}

export interface DeliveryDetail extends DeliveryView {
  payload: EventBody;
  attempt_log: AttemptView[];
}

export function newEndpointId(): string {
  return `ep_${randomBytes(10).toString('hex')}`;
}

export function newDeliveryId(now = Date.now()): string {
  return `whd_${now.toString(36)}${randomBytes(8).toString('hex')}`;
}

/** One id per event and subject, so an event emitted twice (a worker retrying) reaches receivers with one id. */
export function eventIdOf(type: AnyWebhookEvent, subject: string): string {
  return `evt_${subject}_${type.replace('.', '_')}`;
}

export const ENDPOINT_ID = /^ep_[0-9a-f]{20}$/;
export const DELIVERY_ID = /^whd_[0-9a-z]{8,40}$/;
