/** GET /v1/messages: the query that filters and pages the caller's messages, and the page it answers. */
import { z } from 'zod';
import { LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT, SCAN_BUDGET } from '@ttpush/store';
import { MAX_ID } from './fields.ts';
import { MESSAGE_STATUSES, MessageView } from './message.ts';

const STATUS_LIST = new RegExp(`^(${MESSAGE_STATUSES.join('|')})(,(${MESSAGE_STATUSES.join('|')}))*$`);

const id = (what: string) =>
  z
    .string()
    .regex(/^[1-9]\d{0,9}$/)
    .transform(Number)
    .pipe(z.number().int().min(1).max(MAX_ID))
    .optional()
    .meta({ description: what, example: '1001' });

const time = (what: string, example: string) =>
  z.iso.datetime({ offset: true }).optional().meta({ description: what, example });

export const ListMessagesQuery = z.strictObject({
  status: z
    .string()
    .regex(STATUS_LIST)
    .optional()
    .meta({
      description: `Only messages in this status, or any of several comma-separated: ${MESSAGE_STATUSES.join(', ')}.`,
      example: 'failed',
    }),
  from: id('Only messages sent as this user id.'),
  to_user: id('Only single messages to this user id.'),
  to_group: id('Only messages to this group id (not with to_user).'),
  since: time('Only messages accepted at or after this RFC 3339 time.', '2025-01-31T00:00:00Z'),
  until: time('Only messages accepted before this RFC 3339 time.', '2025-02-01T00:00:00Z'),
  limit: z
    .string()
    .regex(/^\d{1,4}$/)
    .transform(Number)
    .pipe(z.number().int().min(1).max(LIST_MAX_LIMIT))
    .optional()
    .meta({ description: `Messages per page, 1 to ${LIST_MAX_LIMIT} (default ${LIST_DEFAULT_LIMIT}).`, example: '50' }),
  cursor: z
    .string()
    .max(300)
    .optional()
    .meta({ description: 'The next_cursor of the previous page (opaque); absent: the newest messages.' }),
});

/** What to write instead, per parameter: named in the 400. */
export const LIST_QUERY_FIX: Record<keyof z.input<typeof ListMessagesQuery>, string> = {
  status: `give one of ${MESSAGE_STATUSES.join(', ')}, or several separated by commas (status=failed,cancelled)`,
  from: 'give a user id from 1 to 4294967295',
  to_user: 'give a user id from 1 to 4294967295',
  to_group: 'give a group id from 1 to 4294967295',
  since: 'give an RFC 3339 time with seconds and an offset, e.g. 2025-01-31T09:30:00Z',
  until: 'give an RFC 3339 time with seconds and an offset, e.g. 2025-01-31T09:30:00Z',
  limit: `give a whole number from 1 to ${LIST_MAX_LIMIT}`,
  cursor: 'pass the next_cursor of the previous page as it came, or leave it out for the newest messages',
};

export const MessagePage = z
  .object({
    messages: z.array(MessageView).meta({ description: 'Newest first.' }),
    next_cursor: z
      .string()
      .nullable()
      .meta({
        description: `Pass it as ?cursor= for the next page; null: nothing older is left. A page scans at most ${SCAN_BUDGET} messages, so with filters a page may hold fewer than limit (even none) while next_cursor is not null.`,
      }),
  })
  .strict()
  .meta({
    id: 'MessagePage',
    example: {
      messages: [
        {
          id: 'msg_0mbx3k2a1c9f0e4d2b7a6q',
          status: 'failed',
          from: 1001,
          to: { user: 2001 },
          priority: 'normal',
          msg_id: null,
          attempts: 1,
          created_at: '2025-01-31T09:30:00.000Z',
          updated_at: '2025-01-31T09:30:05.000Z',
          send_at: null,
          deadline: null,
          sent_at: null,
          error: {
            code: 'teamtalk_rejected',
            message:
              'TeamTalk refused to store the message (db_proxy_server answered msg_id 0): check the sender and recipient ids',
          },
          metadata: null,
        },
      ],
      next_cursor: 'MTczODMxNTgwMDAwMC5tc2dfMG1ieDNrMmExYzlmMGU0ZDJiN2E2cQ',
    },
  });
