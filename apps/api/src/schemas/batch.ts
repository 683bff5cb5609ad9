/** POST /v1/batches (JSON, or NDJSON lines), the batch view and its results. */
import { z } from 'zod';
import { BATCH_RESULT_STATES, BATCH_STATUSES } from '@ttpush/contract';
import { Parts } from './parts.ts';
import { CallbackUrl, Content, Failure, GroupId, Priority, Recipient, Rfc3339, UserId } from './fields.ts';

/** The batch-wide fields: the JSON body's top level, or an NDJSON upload's first line. */
const headerShape = {
  from: UserId.meta({ description: 'The sender of every message; the app key must be allowed to send as this user.' }),
  content: Content.optional().meta({
    description: 'The text every recipient without its own `content` gets; optional when each recipient has one.',
  }),
  parts: Parts.optional().meta({
    description: 'Text and pictures every recipient without its own gets, instead of `content` (one of the two).',
  }),
  priority: Priority.nullish(),
  send_at: Rfc3339.nullish().meta({ description: 'Optional RFC 3339 time: send no earlier than this.' }),
  deadline: Rfc3339.nullish().meta({
    description: 'Optional RFC 3339 time after now and after send_at: what is not sent by then fails as expired.',
  }),
  callback_url: CallbackUrl.nullish(),
};

const recipientContent = Content.optional().meta({ description: "This recipient's own text (overrides the batch's)." });
const recipientParts = Parts.optional().meta({
  description: "This recipient's own text and pictures, instead of its own `content` (overrides the batch's).",
});

export const BatchRecipient = z
  .union([
    z.object({ user: UserId, content: recipientContent, parts: recipientParts }).strict(),
    z.object({ group: GroupId, content: recipientContent, parts: recipientParts }).strict(),
  ])
  .meta({
    id: 'BatchRecipient',
    description:
      'One recipient: exactly one of `user` or `group`, with an optional own `content` (required when the batch has none). A user equal to `from` is refused (self_send).',
    example: { user: 2001 },
  });

export const BatchNdjsonHeader = z
  .object(headerShape)
  .strict()
  .meta({
    id: 'BatchNdjsonHeader',
    description: 'The first line of an NDJSON upload: the batch-wide fields. Recipients follow, one per line.',
    example: { from: 1001, content: 'Maintenance tonight at 22:00' },
  });

export const BatchJsonBody = z
  .object({
    ...headerShape,
    recipients: z
      .array(BatchRecipient)
      .min(1)
      .meta({ description: 'At least one recipient; for very many (over 16 MiB of JSON), stream NDJSON instead.' }),
  })
  .strict()
  .meta({
    id: 'BatchRequest',
    description:
      "A batch as one JSON body (at most 16 MiB). Unknown fields are refused. Checked after the schema: contents fit TTPUSH_MAX_CONTENT_BYTES, deadline is after now and send_at, each recipient has a content (its own or the batch's) and is not the sender itself. An invalid recipient refuses the whole upload (invalid_recipient, naming its index) unless ?skip_invalid=true.",
    example: { from: 1001, content: 'Maintenance tonight at 22:00', recipients: [{ user: 2001 }, { group: 7 }] },
  });

/** The NDJSON upload as text: the header line, then one recipient per line. */
export const BatchNdjsonBody = z.string().meta({
  description:
    'NDJSON (optionally gzip with Content-Encoding: gzip): line 1 a BatchNdjsonHeader, then one BatchRecipient per line; blank lines are skipped. Streamed: millions of recipients never sit in memory. An invalid line refuses the upload (invalid_recipient, naming the line) unless ?skip_invalid=true.',
});

export const BatchUploadQuery = z.object({
  skip_invalid: z.enum(['true', 'false', '1', '0']).optional().meta({
    description: 'true: record invalid recipients as rejected (listed in the results) instead of refusing the upload.',
  }),
});

export const BATCH_ID = /^[\x21-\x7e]{1,200}$/;

export const BatchIdParams = z.object({
  id: z.string().regex(BATCH_ID).meta({ description: 'The id the POST answered.', example: 'b_01J9ZK3' }),
});

const Time = z.string().meta({ format: 'date-time' });

export const BatchView = z
  .object({
    id: z.string(),
    status: z.enum(BATCH_STATUSES as readonly [string, ...string[]]),
    from: UserId,
    priority: Priority,
    total: z.number().int().meta({ description: 'Recipients after duplicates were removed, rejected ones included.' }),
    counts: z
      .object({
        queued: z.number().int(),
        sending: z.number().int(),
        sent: z.number().int(),
        failed: z.number().int(),
        cancelled: z.number().int(),
      })
      .strict(),
    rejected: z.number().int().meta({ description: 'Inputs refused under ?skip_invalid=true.' }),
    rejected_listed: z.number().int().meta({
      description:
        'How many of the rejected inputs the results list: the first 1,000, with their line or index and reason; the rest are only counted.',
    }),
    duplicates: z.number().int().meta({ description: 'Repeated recipients removed from the upload.' }),
    rate: z.number().meta({ description: 'Messages stored or failed per second, recently (or over the whole run).' }),
    eta_seconds: z
      .number()
      .nullable()
      .meta({ description: 'Seconds until done at the current rate; null when not sending.' }),
    created_at: Time,
    updated_at: Time,
    started_at: Time.nullable(),
    finished_at: Time.nullable(),
    send_at: Time.nullable(),
    deadline: Time.nullable(),
  })
  .strict()
  .meta({ id: 'Batch', description: 'A batch: uploading, queued, running, paused, then completed or cancelled.' });

export const BatchResultRow = z
  .union([
    z.object({ recipient: Recipient, state: z.literal('sent'), msg_id: z.number().int() }).strict(),
    z.object({ recipient: Recipient, state: z.literal('failed'), error: Failure }).strict(),
    z.object({ recipient: Recipient, state: z.enum(['cancelled', 'queued', 'sending']) }).strict(),
    z
      .object({
        recipient: z.null(),
        state: z.literal('rejected'),
        line: z.number().int().optional().meta({ description: 'The NDJSON line number (1-based).' }),
        index: z.number().int().optional().meta({ description: "The index in the JSON body's recipients (0-based)." }),
        input: z.string().meta({ description: 'The refused input, cut to 300 characters.' }),
        error: Failure,
      })
      .strict(),
  ])
  .meta({
    id: 'BatchResult',
    description: "One recipient's outcome; `rejected` for inputs refused under skip_invalid.",
  });

export const BatchResultsPage = z
  .object({
    results: z.array(BatchResultRow),
    next_cursor: z.string().nullable().meta({
      description: 'Pass as ?cursor= for the next page; null at the end. A page may be short before the end.',
    }),
  })
  .strict()
  .meta({ id: 'BatchResultsPage' });

export const DEFAULT_RESULTS_LIMIT = 100;
export const MAX_RESULTS_LIMIT = 1000;

export const BatchResultsQuery = z.object({
  state: z
    .enum(BATCH_RESULT_STATES as readonly [string, ...string[]])
    .optional()
    .meta({ description: 'Only results in this state; absent: every result.' }),
  format: z.enum(['json', 'ndjson']).optional().meta({
    description:
      'ndjson: every result as NDJSON lines (also chosen by Accept: application/x-ndjson), no paging. json (default): pages.',
  }),
  limit: z
    .string()
    .regex(/^\d{1,4}$/)
    .transform(Number)
    .pipe(z.number().int().min(1).max(MAX_RESULTS_LIMIT))
    .optional()
    .meta({ description: `Results per page, 1 to ${MAX_RESULTS_LIMIT}; default ${DEFAULT_RESULTS_LIMIT}.` }),
  cursor: z.string().optional().meta({ description: 'The next_cursor of the previous page.' }),
});
