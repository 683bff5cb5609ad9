/**
 * The field schemas every request and response shares: ids, recipients, contents, priorities, times.
 * A schema with an `id` in its meta becomes a named component of /openapi.json.
 */
import { z } from 'zod';
import { PRIORITIES } from '@ttpush/contract';

/** TeamTalk ids are uint32 and 0 means "none" on the wire. */
export const MAX_ID = 4294967295;
/** The JSON text of `metadata`, in UTF-8 bytes. */
export const METADATA_MAX_BYTES = 4096;
export const MAX_WAIT_SECONDS = 30;

export const UserId = z
  .number()
  .int()
  .min(1)
  .max(MAX_ID)
  .meta({ id: 'UserId', description: 'A TeamTalk user id: a JSON integer from 1 to 4294967295.', example: 1001 });

export const GroupId = z
  .number()
  .int()
  .min(1)
  .max(MAX_ID)
  .meta({ id: 'GroupId', description: 'A TeamTalk group id: a JSON integer from 1 to 4294967295.', example: 7 });

export const Recipient = z.union([z.object({ user: UserId }).strict(), z.object({ group: GroupId }).strict()]).meta({
  id: 'Recipient',
  description: 'Exactly one of `user` (a single text) or `group` (a group text).',
  example: { user: 2001 },
});

/** A text: a non-empty string, or an object sent as its compact JSON text. */
export const Content = z.union([z.string().min(1), z.record(z.string(), z.unknown())]).meta({
  id: 'Content',
  description:
    'The text to send: a non-empty string, or a JSON object sent as its compact JSON text. At most TTPUSH_MAX_CONTENT_BYTES UTF-8 bytes (3068 by default) once as text: longer is refused with content_too_long.',
  example: 'Your order has shipped',
});

export const Priority = z.enum(PRIORITIES as readonly ['high', 'normal', 'low']).meta({
  id: 'Priority',
  description:
    "Delivery order among queued messages. Absent or null: the app key's default priority (normal unless the key sets one).",
});

// RFC 3339 needs seconds and an offset (Z or ±hh:mm); zod also refuses impossible dates like Feb 30.
export const Rfc3339 = z.iso.datetime({ offset: true }).meta({
  id: 'Rfc3339Time',
  description:
    'An RFC 3339 time with seconds and an offset, e.g. "2025-01-31T09:30:00Z" or "2025-01-31T17:30:00+08:00".',
});

export const CallbackUrl = z
  .string()
  .regex(/^https?:\/\/\S{1,2040}$/i)
  .meta({
    id: 'CallbackUrl',
    description:
      "Webhooks: an http(s) URL of at most 2048 characters where this message's (or batch's) events are also posted, signed with the app's callback secret. Refused at once (webhook_url_refused) when its host is a loopback, private or link-local address literal not allowed by TTPUSH_WEBHOOK_ALLOWED_NETWORKS, and (callback_secret_missing) when the app has no callback secret yet; a host name is resolved and checked when the callback is delivered.",
    example: 'https://crm.example.com/ttpush/events',
  });

export const Metadata = z
  .record(z.string(), z.unknown())
  .refine((m) => Buffer.byteLength(JSON.stringify(m), 'utf8') <= METADATA_MAX_BYTES)
  .meta({
    id: 'Metadata',
    description: `Your own JSON object, kept with the message and shown in its status; at most ${METADATA_MAX_BYTES} bytes as JSON.`,
    example: { order: 'A-1042' },
  });

// Printable ASCII, so the key can be stored and logged as is.
export const IdempotencyKey = z
  .string()
  .regex(/^[\x20-\x7e]{1,200}$/)
  .meta({
    description:
      'Optional. 1 to 200 printable ASCII characters (e.g. a UUID). A repeated request with the same key answers the first one\'s resource, with "Idempotent-Replayed: true", and queues nothing.',
    example: '5f0c7d8e-2c1b-4d3a-9e0f-1a2b3c4d5e6f',
  });

export const IdempotencyHeaders = z.object({ 'Idempotency-Key': IdempotencyKey.optional() });

/** What went wrong, for a failed message or result row. */
export const Failure = z
  .object({ code: z.string(), message: z.string() })
  .meta({ id: 'Failure', description: 'Why a message failed: a stable code and a sentence.' });
