/**
 * The message contract shared by api and worker: what a caller submits, what a status looks like,
 * and the stable codes of failed messages.
 */

/** One piece of a message sent as `parts`: text, or a picture by URL (store parts.ts joins and splits them). */
export type Part = { text: string } | { image: string };

export type Priority = 'high' | 'normal' | 'low';
export const PRIORITIES: readonly Priority[] = ['high', 'normal', 'low'];

export type MessageStatus = 'queued' | 'scheduled' | 'sending' | 'sent' | 'failed' | 'cancelled';
export const TERMINAL_STATUSES: ReadonlySet<MessageStatus> = new Set(['sent', 'failed', 'cancelled']);

export type Recipient = { user: number } | { group: number };

/** Stable codes of a failed message (`error.code` in its status). */
export const FAILURE_CODES = {
  teamtalk_rejected:
    'TeamTalk refused to store the message (db_proxy_server answered msg_id 0): check the sender and recipient ids',
  teamtalk_no_reply:
    'db_proxy_server kept answering other requests but never this message, for its whole age (TTPUSH_MAX_MESSAGE_AGE_MS), and it was never stored',
  group_not_found:
    'TeamTalk dropped the group message without a reply because the group does not exist (checked with a group query)',
  not_a_member:
    'TeamTalk dropped the group message without a reply because the sender is not a member of the group (checked with a group query)',
  teamtalk_unavailable:
    'TeamTalk could not be reached before the message expired: check db_proxy_server and route_server',
  not_stored: 'TeamTalk acknowledged the message but reading it back shows it was not stored: check the database',
  expired: 'the message was not sent before its deadline',
} as const;
export type FailureCode = keyof typeof FAILURE_CODES;

export interface SubmitRequest {
  /** The app key's name (for attribution and idempotency scoping). */
  app: string;
  /** The public id of the key that sent it (safe to log): GET by another key of the app needs read_all. */
  key?: string;
  from: number;
  to: Recipient;
  /** The text as sent: an object content is already JSON.stringify'd by the API, parts joined (store parts.ts). */
  text: string;
  /** Given as `parts`: the view shows them, split back from the text. */
  withParts?: boolean;
  priority: Priority;
  /** Unix ms; absent: now. */
  sendAt?: number;
  /** Unix ms: "drop if not sent by"; a worker reaching the message later fails it with `expired`. */
  deadline?: number;
  metadata?: Record<string, unknown>;
  idempotencyKey?: string;
  /** Set when the caller waits for the result (?wait=, legacy /query): the worker publishes its completion. */
  notify?: boolean;
  /**
   * The key lacks read_all: the message also goes to the key's own list index, which GET /v1/messages reads
   * for such a key (message-list.ts).
   */
  listByKey?: boolean;
  /** Webhooks: this message's message.sent / message.failed are also posted here, signed with the app's callback secret. */
  callbackUrl?: string;
}

/** Who sent a message or batch: the app's name and the key's public id. */
export interface Owner {
  app: string;
  key: string | null;
}

export interface MessageView {
  id: string;
  status: MessageStatus;
  from: number;
  to: Recipient;
  priority: Priority;
  /** TeamTalk's msg_id, once stored. */
  msg_id: number | null;
  attempts: number;
  created_at: string;
  updated_at: string;
  send_at: string | null;
  /** "Drop if not sent by", when given. */
  deadline: string | null;
  sent_at: string | null;
  error: { code: string; message: string } | null;
  metadata: Record<string, unknown> | null;
  /** Only for a message sent with `parts`: its text and pictures (store parts.ts splitParts). */
  parts?: Part[];
}

/** A db_proxy_server as one worker sees it (apps/worker db-proxy-health.ts). */
export interface DbProxyHealthView {
  address: string;
  /** Requests it left without a reply since the worker started. */
  unanswered: number;
  /** `degraded`: it answers some requests and leaves others unanswered (likely a parked thread: restart it). */
  status: 'ok' | 'degraded';
  reason?: string;
}

export interface HealthReport {
  redis: boolean;
  workers: {
    id: string;
    dbProxyReady: boolean;
    routeReady: boolean;
    seenMsAgo: number;
    connections: unknown;
    /** Absent from workers of older versions. */
    dbProxy?: DbProxyHealthView[];
  }[];
}

/** Accept-to-stored latency histogram buckets (ms): workers count into them (P:stats lat_le_<ms>), the api renders them. */
export const LATENCY_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000] as const;
