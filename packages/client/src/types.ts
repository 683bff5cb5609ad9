/**
 * The /v1 API's request and response shapes, as the api answers them (apps/api/src/routes). Kept here
 * rather than imported from @ttpush/contract so the client depends on nothing but Node's fetch.
 */

export type Priority = 'high' | 'normal' | 'low';
export type Recipient = { user: number } | { group: number };
export type MessageStatus = 'queued' | 'scheduled' | 'sending' | 'sent' | 'failed' | 'cancelled';
export type BatchStatus = 'uploading' | 'queued' | 'running' | 'paused' | 'completed' | 'cancelled';
export type BatchResultState = 'sent' | 'failed' | 'cancelled' | 'rejected';

/** Content is a string, or an object the api sends as its JSON text. */
export type Content = string | Record<string, unknown>;

/**
 * Text and pictures, sent instead of `content`: ttpush joins them into the one text the TeamTalk clients
 * render (a picture as its URL between two markers). A picture's URL is http(s), at most 1,000 bytes.
 */
export type Part = { text: string } | { image: string };

/** The text to send: `content`, or text and pictures as `parts`; exactly one of the two. */
export type MessageText = { content: Content; parts?: never } | { parts: Part[]; content?: never };

export type SendMessageRequest = SendMessageFields & MessageText;

export interface SendMessageFields {
  from: number;
  to: Recipient;
  priority?: Priority;
  /** RFC 3339: send no earlier. */
  send_at?: string;
  /** RFC 3339: what is not sent by then fails as `expired`. */
  deadline?: string;
  metadata?: Record<string, unknown>;
  /** Webhooks: message.sent / message.failed are also posted here, signed with the app's callback secret. */
  callback_url?: string;
}

export interface MessageView {
  id: string;
  status: MessageStatus;
  from: number;
  to: Recipient;
  priority: Priority;
  msg_id: number | null;
  attempts: number;
  created_at: string;
  updated_at: string;
  send_at: string | null;
  deadline: string | null;
  sent_at: string | null;
  error: { code: string; message: string } | null;
  metadata: Record<string, unknown> | null;
  /** Only for a message sent with `parts`: its text and pictures. */
  parts?: Part[];
}

/**
 * GET /v1/messages: the caller's single messages (not batch recipients) of the last 7 days, newest first.
 * A key without read_all sees the messages it sent; a key with it, the app's.
 */
export interface ListMessagesQuery {
  /** One status, or several (any of them). */
  status?: MessageStatus | readonly MessageStatus[];
  from?: number;
  to_user?: number;
  /** Not with to_user. */
  to_group?: number;
  /** Accepted at or after: an RFC 3339 time (with seconds and an offset) or a Date. */
  since?: string | Date;
  /** Accepted before: an RFC 3339 time or a Date. */
  until?: string | Date;
  /** 1 to 500; the api's default is 50. */
  limit?: number;
  /** The next_cursor of the previous page. */
  cursor?: string;
}

export interface MessagePage {
  /** Newest first. */
  messages: MessageView[];
  /** Pass as `cursor` for the next page; null at the end. A filtered page may be short (or empty) before the end. */
  next_cursor: string | null;
}

/** One recipient of a batch, optionally with its own content. */
export type BatchRecipient = Recipient & ({ content?: Content; parts?: never } | { parts?: Part[]; content?: never });

export interface BatchHeader {
  from: number;
  /** Optional when every recipient carries its own content (or parts). */
  content?: Content;
  /** Text and pictures instead of `content` (one of the two). */
  parts?: Part[];
  priority?: Priority;
  send_at?: string;
  deadline?: string;
  /** Webhooks: batch.completed is also posted here, signed with the app's callback secret. */
  callback_url?: string;
}

/** A source of recipients for a streamed upload: an async iterable, or a function that starts a fresh one. */
export type RecipientSource = AsyncIterable<BatchRecipient> | (() => AsyncIterable<BatchRecipient>);

export type CreateBatchRequest = BatchHeader &
  ({ recipients: BatchRecipient[]; stream?: never } | { stream: RecipientSource; recipients?: never });

export interface BatchCounts {
  queued: number;
  sending: number;
  sent: number;
  failed: number;
  cancelled: number;
}

export interface BatchView {
  id: string;
  status: BatchStatus;
  from: number;
  priority: Priority;
  total: number;
  counts: BatchCounts;
  rejected: number;
  /** How many of the rejected inputs the results list (the first 1,000). */
  rejected_listed: number;
  duplicates: number;
  rate: number;
  eta_seconds: number | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
  send_at: string | null;
  deadline: string | null;
}

export type BatchResultRow =
  | { recipient: Recipient; state: 'sent'; msg_id: number }
  | { recipient: Recipient; state: 'failed'; error: { code: string; message: string } }
  | { recipient: Recipient; state: 'cancelled' | 'queued' | 'sending' }
  | {
      recipient: null;
      state: 'rejected';
      line?: number;
      index?: number;
      input: string;
      error: { code: string; message: string };
    };

export interface BatchResultsPage {
  results: BatchResultRow[];
  /** Pass as `cursor` for the next page; null at the end. A page may be short (or empty) before the end. */
  next_cursor: string | null;
}

export interface BatchResultsQuery {
  state?: BatchResultState;
  cursor?: string;
  /** 1 to 1000; the api's default is 100. */
  limit?: number;
}

export type GroupType = 'normal' | 'tmp';

export interface CreateGroupRequest {
  /** The creator; the app key must be allowed to act as this user. */
  creator: number;
  /** At most 256 UTF-8 bytes; TeamTalk refuses an empty name. */
  name: string;
  /** Default tmp. */
  type?: GroupType;
  /** An avatar URL, at most 256 UTF-8 bytes. */
  avatar?: string;
  /** 1 to 1000 user ids. */
  members: number[];
}

export interface ChangeMembersRequest {
  /** The acting user; 0 (the default) is an administrator, only for keys whose senders are "*". */
  user?: number;
  /** 1 to 1000 user ids. */
  members: number[];
}

export interface GroupView {
  group_id: number;
  name: string;
  members: number[];
}

export interface MembersChange {
  group_id: number;
  /** The members after the change. */
  members: number[];
  /** The ids added (or removed). */
  changed: number[];
}
