/** The /v1/webhooks shapes, as the API answers them (see the README's Webhooks section). */

export type WebhookEventType = 'message.sent' | 'message.failed' | 'batch.completed';
export type DeliveryStatus = 'pending' | 'delivered' | 'dead';

export interface WebhookEndpoint {
  id: string;
  url: string;
  events: WebhookEventType[];
  description: string | null;
  enabled: boolean;
  disabled_reason: string | null;
  disabled_at: string | null;
  failing_since: string | null;
  previous_secret_expires_at: string | null;
  created_at: string;
  updated_at: string;
}

/** Creation and rotation answers: the secret (whsec_…) is shown this once. */
export type WebhookEndpointWithSecret = WebhookEndpoint & { secret: string };

export interface CreateEndpointRequest {
  url: string;
  events: WebhookEventType[];
  description?: string;
}

export interface UpdateEndpointRequest {
  url?: string;
  events?: WebhookEventType[];
  enabled?: boolean;
  description?: string | null;
}

export interface WebhookDelivery {
  id: string;
  /** The webhook-id header: deduplicate on it. */
  event_id: string;
  event_type: WebhookEventType | 'endpoint.disabled';
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

export interface WebhookDeliveryDetail extends WebhookDelivery {
  payload: { type: string; timestamp: string; data: unknown };
  attempt_log: { at: string; status: number | null; error: string | null; duration_ms: number }[];
}

export interface DeliveriesQuery {
  endpoint?: string;
  status?: DeliveryStatus;
  limit?: number;
  cursor?: string;
}

export interface DeliveriesPage {
  deliveries: WebhookDelivery[];
  next_cursor: string | null;
}

export interface CallbackSecret {
  /** Present when just created or rotated. */
  secret?: string;
  created_at: string;
  previous_secret_expires_at: string | null;
}
