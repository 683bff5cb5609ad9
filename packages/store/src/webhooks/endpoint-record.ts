/**
 * An endpoint as stored in its Redis hash, and its public view. Fields:
 *   app · url · events (comma list) · desc · on '1'|'0' · dr/da disabled reason/at (ms) · fs failing since (ms)
 *   secret · old (previous secret) · old_until (ms) · ca/ua created/updated (ms)
 * The secrets never leave this module except to sign, and once at creation or rotation.
 */
import type { EndpointView, WebhookEvent } from '@ttpush/contract';

export interface EndpointRecord {
  id: string;
  app: string;
  url: string;
  events: WebhookEvent[];
  description: string | null;
  enabled: boolean;
  disabledReason: string | null;
  disabledAt: number | null;
  failingSince: number | null;
  secret: string;
  oldSecret: string | null;
  oldUntil: number | null;
  createdAt: number;
  updatedAt: number;
}

const num = (v: string | undefined) => (v === undefined || v === '' ? null : Number(v));
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function parseEndpoint(id: string, h: Record<string, string>): EndpointRecord | null {
  if (!h.app || !h.url) return null;
  return {
    id,
    app: h.app,
    url: h.url,
    events: (h.events ? h.events.split(',') : []) as WebhookEvent[],
    description: h.desc || null,
    enabled: h.on === '1',
    disabledReason: h.dr || null,
    disabledAt: num(h.da),
    failingSince: num(h.fs),
    secret: h.secret ?? '',
    oldSecret: h.old || null,
    oldUntil: num(h.old_until),
    createdAt: Number(h.ca),
    updatedAt: Number(h.ua ?? h.ca),
  };
}

/** The secrets that sign now: the current one, and the previous one during its grace period. */
export function signingSecrets(
  r: { secret: string; oldSecret: string | null; oldUntil: number | null },
  now = Date.now(),
): string[] {
  return r.oldSecret && r.oldUntil !== null && r.oldUntil > now ? [r.secret, r.oldSecret] : [r.secret];
}

export function toEndpointView(r: EndpointRecord, now = Date.now()): EndpointView {
  return {
    id: r.id,
    url: r.url,
    events: r.events,
    description: r.description,
    enabled: r.enabled,
    disabled_reason: r.enabled ? null : r.disabledReason,
    disabled_at: r.enabled ? null : iso(r.disabledAt),
    failing_since: iso(r.failingSince),
    previous_secret_expires_at: r.oldSecret && r.oldUntil !== null && r.oldUntil > now ? iso(r.oldUntil) : null,
    created_at: iso(r.createdAt)!,
    updated_at: iso(r.updatedAt)!,
  };
}
