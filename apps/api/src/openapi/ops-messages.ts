/** The API reference of POST and GET /v1/messages, GET and DELETE /v1/messages/{id} (routes/messages.ts). */
import { IdempotencyHeaders } from '../schemas/fields.ts';
import { MessageIdParams, MessageView, SendMessageBody, SendMessageQuery } from '../schemas/message.ts';
import { ListMessagesQuery, MessagePage } from '../schemas/message-list.ts';
import { defineOperation } from './registry.ts';
import { APP_AUTH_ERRORS, JSON_BODY_ERRORS, json } from './op-parts.ts';

defineOperation({
  method: 'post',
  path: '/v1/messages',
  tag: 'Messages',
  operationId: 'sendMessage',
  summary: 'Send a text to a user or a group',
  description:
    'Queues the message and answers 202 with its status (Location: /v1/messages/{id}). With ?wait=N it answers 200 once the message is sent or failed within N seconds, 202 otherwise. A text to a user goes to their TeamTalk clients once db_proxy_server stored it (msg_id).',
  auth: 'app',
  query: SendMessageQuery,
  headers: IdempotencyHeaders,
  body: json(SendMessageBody),
  responses: {
    '200': {
      description: 'With ?wait: the message reached sent, failed or cancelled in time.',
      body: json(MessageView),
    },
    '202': {
      description:
        'Queued (or scheduled). A repeated Idempotency-Key with the same request answers the first message with Idempotent-Replayed: true; with another request it is refused (422 idempotency_key_reused).',
      body: json(MessageView),
      headers: {
        Location: 'The status URL: /v1/messages/{id}.',
        'Idempotent-Replayed': 'true when the Idempotency-Key matched an earlier message (nothing new queued).',
      },
    },
  },
  errors: [
    ...JSON_BODY_ERRORS,
    'content_empty',
    'content_too_long',
    'self_send',
    ...APP_AUTH_ERRORS,
    'forbidden_sender',
    'forbidden_group',
    'rate_limited',
    'quota_exceeded',
    'webhook_url_refused',
    'callback_secret_missing',
    'idempotency_key_reused',
  ],
});

defineOperation({
  method: 'get',
  path: '/v1/messages',
  tag: 'Messages',
  operationId: 'listMessages',
  summary: "The caller's messages, newest first",
  description:
    "Single messages (POST /v1/messages and the legacy /query sends) accepted in the last 7 days, newest first, filtered and paged: pass next_cursor as ?cursor= until it is null. Scoped as GET /v1/messages/{id} is: the app's messages for a key with read_all (and configuration keys), the key's own otherwise; another app's never. Batch recipients are not listed: see GET /v1/batches/{id}/results. A page scans at most 1,000 messages, so with filters it may hold fewer than limit (even none) while next_cursor is not null. A message scheduled more than 7 days after it was accepted leaves the list before it is sent (GET by id still finds it).",
  auth: 'app',
  query: ListMessagesQuery,
  responses: { '200': { description: 'One page of messages.', body: json(MessagePage) } },
  errors: ['invalid_field', 'unknown_field', ...APP_AUTH_ERRORS],
});

defineOperation({
  method: 'get',
  path: '/v1/messages/{id}',
  tag: 'Messages',
  operationId: 'getMessage',
  summary: "A message's status",
  auth: 'app',
  params: MessageIdParams,
  responses: { '200': { description: 'The message as it is now.', body: json(MessageView) } },
  errors: ['not_found', ...APP_AUTH_ERRORS],
});

defineOperation({
  method: 'delete',
  path: '/v1/messages/{id}',
  tag: 'Messages',
  operationId: 'cancelMessage',
  summary: 'Cancel a queued or scheduled message',
  description:
    'A message that is sending or done cannot be cancelled: 409 not_cancellable, with the message beside the error.',
  auth: 'app',
  params: MessageIdParams,
  responses: { '200': { description: 'Cancelled: the message, status cancelled.', body: json(MessageView) } },
  errors: ['not_found', 'not_cancellable', ...APP_AUTH_ERRORS],
});
