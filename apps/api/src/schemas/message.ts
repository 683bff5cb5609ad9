/** POST /v1/messages and the message view (GET / DELETE /v1/messages/{id}). */
import { z } from 'zod';
import {
  CallbackUrl,
  Content,
  Failure,
  MAX_WAIT_SECONDS,
  Metadata,
  Priority,
  Recipient,
  Rfc3339,
  UserId,
} from './fields.ts';
import { Part, Parts } from './parts.ts';

export const SendMessageBody = z
  .object({
    from: UserId.meta({ description: 'The sender; the app key must be allowed to send as this user.' }),
    to: Recipient,
    content: Content.optional().meta({ description: 'The text to send; or give `parts` instead (one of the two).' }),
    parts: Parts.optional(),
    priority: Priority.nullish(),
    send_at: Rfc3339.nullish().meta({
      description: 'Optional RFC 3339 time (with seconds and an offset): send no earlier than this.',
      example: '2025-01-31T09:30:00Z',
    }),
    deadline: Rfc3339.nullish().meta({
      description: 'Optional RFC 3339 time after now (and after send_at): what is not sent by then fails as expired.',
      example: '2025-01-31T18:00:00Z',
    }),
    metadata: Metadata.nullish(),
    callback_url: CallbackUrl.nullish(),
  })
  .strict()
  .meta({
    id: 'SendMessageRequest',
    description:
      'Unknown fields are refused (unknown_field); null optional fields count as absent. The text is `content` or `parts`, exactly one of the two (both: invalid_field; neither: missing_field content). Checked after the schema: content fits TTPUSH_MAX_CONTENT_BYTES (content_too_long), deadline is after now and after send_at, and a single text is not to the sender itself (self_send).',
    example: { from: 1001, to: { user: 2001 }, content: 'Your order has shipped', priority: 'high' },
  });

export const SendMessageQuery = z.object({
  wait: z
    .string()
    .regex(/^\d{1,2}(\.\d{1,3})?$/)
    .transform(Number)
    .pipe(z.number().gt(0).max(MAX_WAIT_SECONDS))
    .optional()
    .meta({
      description: `Wait up to this many seconds (0 < wait ≤ ${MAX_WAIT_SECONDS}, up to 3 decimals) for the message to be sent or fail: answered 200 when it did, 202 otherwise.`,
      example: '10',
    }),
});

export const MESSAGE_STATUSES = ['queued', 'scheduled', 'sending', 'sent', 'failed', 'cancelled'] as const;

/** Ids are the service's own; anything else cannot name a message. */
export const MESSAGE_ID = /^[\x21-\x7e]{1,200}$/;

export const MessageIdParams = z.object({
  id: z.string().regex(MESSAGE_ID).meta({ description: 'The id the POST answered.', example: 'm_01J9ZK3' }),
});

const Time = z.string().meta({ format: 'date-time' });

export const MessageView = z
  .object({
    id: z.string(),
    status: z.enum(MESSAGE_STATUSES),
    from: UserId,
    to: Recipient,
    priority: Priority,
    msg_id: z.number().int().nullable().meta({ description: "TeamTalk's msg_id, once stored." }),
    attempts: z.number().int().min(0),
    created_at: Time,
    updated_at: Time,
    send_at: Time.nullable(),
    deadline: Time.nullable(),
    sent_at: Time.nullable(),
    error: Failure.nullable(),
    metadata: z.record(z.string(), z.unknown()).nullable(),
    parts: z.array(Part).optional().meta({
      description: 'Only for a message sent with `parts`: its text and pictures, as the TeamTalk clients read them.',
    }),
  })
  .strict()
  .meta({
    id: 'Message',
    description: "A message's state: queued, scheduled, sending, then sent, failed or cancelled.",
  });
