/** The API reference of /v1/batches and its sub-resources (routes/batches.ts). */
import { z } from 'zod';
import {
  BatchIdParams,
  BatchJsonBody,
  BatchNdjsonBody,
  BatchNdjsonHeader,
  BatchRecipient,
  BatchResultRow,
  BatchResultsPage,
  BatchResultsQuery,
  BatchUploadQuery,
  BatchView,
} from '../schemas/batch.ts';
import { IdempotencyHeaders } from '../schemas/fields.ts';
import { defineOperation } from './registry.ts';
import { APP_AUTH_ERRORS, JSON_BODY_ERRORS, json } from './op-parts.ts';

const batchAnswer = (description: string) => ({ description, body: json(BatchView) });

defineOperation({
  method: 'post',
  path: '/v1/batches',
  tag: 'Batches',
  operationId: 'createBatch',
  summary: 'Send one text (or one per recipient) to many recipients',
  description:
    'A JSON body (up to 16 MiB), or an NDJSON stream for very many recipients (header line, then one recipient per line; gzip accepted). The batch starts once the whole upload was read and checked: an invalid recipient refuses the upload (400 invalid_recipient naming its index or line; nothing is queued) unless ?skip_invalid=true, which records it as rejected (the results list the first 1,000 rejected inputs; the view counts them all). An upload is bounded after decompression in bytes (TTPUSH_UPLOAD_MAX_BYTES, 413 body_too_large), in lines, blank ones included (TTPUSH_UPLOAD_MAX_LINES, 413 too_many_lines), and in time (TTPUSH_UPLOAD_TIMEOUT, 408 upload_timeout); a client that disconnects stops it, and nothing is queued.',
  auth: 'app',
  query: BatchUploadQuery,
  headers: IdempotencyHeaders,
  body: json(BatchJsonBody),
  alternateBodies: [
    {
      contentType: 'application/x-ndjson',
      schema: BatchNdjsonBody,
      lines: { first: BatchNdjsonHeader, each: BatchRecipient },
      example: '{"from": 1001, "content": "Maintenance tonight at 22:00"}\n{"user": 2001}\n{"group": 7}\n',
    },
  ],
  responses: {
    '202': {
      description:
        'Accepted: the batch, queued (or scheduled). A repeated Idempotency-Key with the same upload answers the first batch; with another upload it is refused (422 idempotency_key_reused).',
      body: json(BatchView),
      headers: {
        Location: 'The status URL: /v1/batches/{id}.',
        'Idempotent-Replayed': 'true when the Idempotency-Key matched an earlier batch (nothing new queued).',
      },
    },
  },
  errors: [
    ...JSON_BODY_ERRORS,
    'content_empty',
    'content_too_long',
    'invalid_recipient',
    ...APP_AUTH_ERRORS,
    'forbidden_sender',
    'forbidden_group',
    'forbidden_scope',
    'quota_exceeded',
    'webhook_url_refused',
    'callback_secret_missing',
    'idempotency_key_reused',
    'too_many_lines',
    'upload_timeout',
  ],
});

defineOperation({
  method: 'get',
  path: '/v1/batches/{id}',
  tag: 'Batches',
  operationId: 'getBatch',
  summary: "A batch's progress",
  auth: 'app',
  params: BatchIdParams,
  responses: { '200': batchAnswer('The batch as it is now: counts, rate, eta.') },
  errors: ['not_found', ...APP_AUTH_ERRORS],
});

defineOperation({
  method: 'delete',
  path: '/v1/batches/{id}',
  tag: 'Batches',
  operationId: 'cancelBatch',
  summary: 'Cancel what a batch has not sent yet',
  auth: 'app',
  params: BatchIdParams,
  responses: { '200': batchAnswer('Cancelled: the batch, status cancelled.') },
  errors: ['not_found', 'not_cancellable', ...APP_AUTH_ERRORS],
});

defineOperation({
  method: 'post',
  path: '/v1/batches/{id}/pause',
  tag: 'Batches',
  operationId: 'pauseBatch',
  summary: 'Pause a batch (messages already sending finish)',
  auth: 'app',
  params: BatchIdParams,
  responses: { '200': batchAnswer('Paused: the batch, status paused.') },
  errors: ['not_found', 'not_pausable', ...APP_AUTH_ERRORS],
});

defineOperation({
  method: 'post',
  path: '/v1/batches/{id}/resume',
  tag: 'Batches',
  operationId: 'resumeBatch',
  summary: 'Resume a paused batch',
  auth: 'app',
  params: BatchIdParams,
  responses: { '200': batchAnswer('Resumed: the batch, status queued or running.') },
  errors: ['not_found', 'not_resumable', ...APP_AUTH_ERRORS],
});

defineOperation({
  method: 'get',
  path: '/v1/batches/{id}/results',
  tag: 'Batches',
  operationId: 'getBatchResults',
  summary: "A batch's per-recipient results: pages, or every result as NDJSON",
  description:
    'JSON pages (?limit, ?cursor = the previous next_cursor), or with ?format=ndjson (or Accept: application/x-ndjson) every result as one NDJSON stream, no paging.',
  auth: 'app',
  params: BatchIdParams,
  query: BatchResultsQuery,
  responses: {
    '200': {
      description: 'A page of results (JSON), or every result (NDJSON, one BatchResult per line).',
      body: json(BatchResultsPage),
      alternateBodies: [
        {
          contentType: 'application/x-ndjson',
          schema: z.string().meta({ description: 'One BatchResult per line.' }),
          lines: { each: BatchResultRow },
        },
      ],
    },
  },
  errors: ['not_found', 'invalid_field', ...APP_AUTH_ERRORS],
});
