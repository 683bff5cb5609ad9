/**
 * The console's and the queue dashboard's operations (routes/console.ts, routes/queues-board.ts), for the
 * generated API reference. Admin auth: the console's session cookie, or `Authorization: Bearer <TTPUSH_ADMIN_KEY>`.
 */
import { z } from 'zod';
import { ListMessagesQuery } from '../schemas/message-list.ts';
import { MessageView } from '../schemas/message.ts';
import { defineOperation, type ResponseSpec } from './registry.ts';

const TAG = 'Operations';
const html = (description: string): ResponseSpec => ({
  description,
  body: { contentType: 'text/html', schema: z.string() },
});
const batchId = z.object({ id: z.string().describe('the batch id, e.g. bat_mbx3k2a1c9f0e4d2b7a6q') });

const ratePoint = z.object({
  t: z.number().int().describe('Unix ms of the sample'),
  depth: z.number().int(),
  batch_pending: z.number().int(),
  sent_per_s: z.number(),
  failed_per_s: z.number(),
});
const failureExample = z.object({ id: z.string(), code: z.string(), message: z.string(), at: z.number().int() });
const overview = z.object({
  generated_at: z.string(),
  queue: z.object({
    depth: z.number().int().describe('single messages accepted and not yet terminal'),
    batch_pending: z.number().int().describe('recipients of unfinished batches not yet sent, failed or cancelled'),
    jobs: z.object({
      waiting: z.number().int(),
      prioritized: z.number().int(),
      active: z.number().int(),
      delayed: z.number().int(),
    }),
  }),
  rate: z.object({ sent_per_s: z.number(), failed_per_s: z.number() }),
  series: z.array(ratePoint).describe('one point per 2 s sample over the last 10 minutes, oldest first'),
  batches: z
    .array(z.looseObject({ id: z.string(), status: z.string(), progress_percent: z.number() }))
    .describe('the 20 newest batches, newest first: the GET /v1/batches/{id} view plus progress_percent'),
  failures: z.array(z.object({ code: z.string(), count: z.number().int(), examples: z.array(failureExample) })),
  teamtalk: z.array(
    z.object({
      worker: z.string(),
      seen_ms_ago: z.number().int(),
      connections: z.array(z.object({ role: z.string(), address: z.string(), status: z.string() })),
    }),
  ),
  links: z.object({ queues: z.string() }),
});

defineOperation({
  method: 'get',
  path: '/console',
  tag: TAG,
  summary: 'The console page (or its login form)',
  description:
    'With a session cookie or the Bearer admin key: the page, which polls /console/api/overview. Without: a form to paste the admin key. 403 page when TTPUSH_ADMIN_KEY is unset.',
  auth: 'none',
  responses: { '200': html('the console page or the login form'), '403': html('the console is off') },
});

defineOperation({
  method: 'post',
  path: '/console/login',
  tag: TAG,
  summary: 'Log in to the console with the admin key',
  description:
    'Sets an HttpOnly, SameSite=Strict session cookie (a random session id, never the key; the session lives 12 h in Redis) and redirects to /console. Must come from the console page (Origin / Sec-Fetch-Site).',
  auth: 'none',
  body: {
    contentType: 'application/x-www-form-urlencoded',
    schema: z.object({ key: z.string().describe('TTPUSH_ADMIN_KEY') }),
  },
  responses: {
    '303': { description: 'logged in: to /console', headers: { 'Set-Cookie': 'the session cookie' } },
    '401': html('the form again: that is not the admin key'),
    '403': html('the console is off, or the form was posted from another origin'),
    '503': html('the form again: Redis, where sessions live, is unreachable'),
  },
});

defineOperation({
  method: 'post',
  path: '/console/logout',
  tag: TAG,
  summary: 'Log out of the console',
  description:
    'Deletes the session in Redis, so that the cookie (or any copy of it) opens nothing any more, then clears it.',
  auth: 'none',
  responses: {
    '303': { description: 'to /console', headers: { 'Set-Cookie': 'clears the session cookie' } },
    '503': html('Redis is unreachable: the session could not be ended and the cookie is kept; try again'),
  },
});

defineOperation({
  method: 'get',
  path: '/console/assets/{file}',
  tag: TAG,
  summary: "The console page's script and style sheet",
  auth: 'none',
  params: z.object({ file: z.enum(['console.js', 'console-messages.js', 'console.css', 'console-lookup.js']) }),
  responses: {
    '200': { description: 'the file', body: { contentType: 'text/javascript', schema: z.string() } },
  },
  errors: ['not_found'],
});

defineOperation({
  method: 'get',
  path: '/console/api/overview',
  tag: TAG,
  summary: 'What the console shows: queue, rates, batches, failures, TeamTalk connections',
  auth: 'admin',
  responses: { '200': { description: 'the overview', body: { contentType: 'application/json', schema: overview } } },
  errors: ['unauthorized', 'admin_disabled', 'redis_unavailable'],
});

defineOperation({
  method: 'get',
  path: '/console/api/messages',
  tag: TAG,
  summary: "The console's recent messages: every app's, or one app's",
  description:
    "As GET /v1/messages, over every app: without app, the newest messages of every app (the last 1,000 per partition); with app, that app's messages of the last 7 days. Each row is the message view plus its app.",
  auth: 'admin',
  query: ListMessagesQuery.extend({
    app: z.string().max(100).optional().meta({ description: 'Only this app (its name).', example: 'crm' }),
  }),
  responses: {
    '200': {
      description: 'One page, newest first.',
      body: {
        contentType: 'application/json',
        schema: z.object({
          messages: z.array(MessageView.extend({ app: z.string() })),
          next_cursor: z.string().nullable(),
        }),
      },
    },
  },
  errors: ['unauthorized', 'admin_disabled', 'invalid_field', 'unknown_field', 'redis_unavailable'],
});

for (const action of ['cancel', 'pause', 'resume'] as const) {
  defineOperation({
    method: 'post',
    path: `/console/api/batches/{id}/${action}`,
    tag: TAG,
    summary: `${action[0]!.toUpperCase()}${action.slice(1)} a batch from the console`,
    description:
      'As the /v1/batches action of the same name. With the session cookie the request must come from the console page (Origin / Sec-Fetch-Site); with the Bearer admin key it need not.',
    auth: 'admin',
    params: batchId,
    responses: {
      '200': {
        description: 'the batch view after the change',
        body: { contentType: 'application/json', schema: z.looseObject({ id: z.string(), status: z.string() }) },
      },
    },
    errors: [
      'unauthorized',
      'admin_disabled',
      'cross_origin_refused',
      'not_found',
      action === 'cancel' ? 'not_cancellable' : action === 'pause' ? 'not_pausable' : 'not_resumable',
      'redis_unavailable',
    ],
  });
}

defineOperation({
  method: 'get',
  path: '/admin/queues',
  tag: TAG,
  summary: 'bull-board: the BullMQ queue (lanes and batch chunks), read-only',
  description: 'Its pages, static files and API live under /admin/queues/ behind the same admin auth.',
  auth: 'admin',
  responses: { '200': html('the bull-board page') },
  errors: ['unauthorized', 'admin_disabled', 'redis_unavailable'],
});

defineOperation({
  method: 'get',
  path: '/console/api/messages/{id}',
  tag: TAG,
  summary: "Any app's message, for the console's lookup",
  description:
    'The GET /v1/messages/{id} view of a message of any app, with its `parts` (text and picture URLs) when it was sent with parts.',
  auth: 'admin',
  params: z.object({ id: z.string().describe('the message id, e.g. msg_0mx7de5q025z5pc11ei4vr') }),
  responses: { '200': { description: 'the message', body: { contentType: 'application/json', schema: MessageView } } },
  errors: ['unauthorized', 'admin_disabled', 'not_found', 'redis_unavailable'],
});
