/**
 * The old http_msg_server's bodies and reply (protocol notes §9). The bodies are read as JSON whatever
 * their Content-Type, unknown fields are ignored as the old server did, and every answer is HTTP 200
 * with an error_code.
 */
import { z } from 'zod';
import { LEGACY_CODES } from '../legacy-reply.ts';
import { Content, GroupId, UserId } from './fields.ts';
import { ActingUser, GroupText, MemberIds } from './group.ts';

const appKey = z.string().meta({ description: 'The app key (the one a /v1 call gives as Bearer).' });

const legacyExample = (extra: Record<string, unknown>) => ({ app_key: 'your-app-key', ...extra });

export const LegacySendSingleBody = z
  .looseObject({
    app_key: appKey,
    from_user_id: UserId,
    session_id: UserId.meta({ description: 'The recipient user; not the sender itself.' }),
    msg: Content,
  })
  .meta({
    id: 'LegacySendSingleMessage',
    example: legacyExample({ from_user_id: 1001, session_id: 2001, msg: 'hello' }),
  });

export const LegacySendGroupBody = z
  .looseObject({
    app_key: appKey,
    from_user_id: UserId,
    session_id: GroupId.meta({ description: 'The group.' }),
    msg: Content,
  })
  .meta({ id: 'LegacySendGroupMessage', example: legacyExample({ from_user_id: 1001, session_id: 7, msg: 'hello' }) });

export const LegacyCreateGroupBody = z
  .looseObject({
    app_key: appKey,
    req_user_id: UserId,
    group_name: GroupText,
    group_type: z
      .union([z.literal(1), z.literal(2)])
      .optional()
      .meta({ description: '1 normal, 2 tmp (default).' }),
    group_avatar: GroupText.optional(),
    user_id_list: MemberIds,
  })
  .meta({
    id: 'LegacyCreateGroup',
    example: legacyExample({ req_user_id: 1001, group_name: 'ops', user_id_list: [1001, 2001] }),
  });

export const LegacyChangeMembersBody = z
  .looseObject({
    app_key: appKey,
    req_user_id: ActingUser.optional(),
    group_id: GroupId,
    modify_type: z.union([z.literal(1), z.literal(2)]).meta({ description: '1 add, 2 del.' }),
    user_id_list: MemberIds,
  })
  .meta({
    id: 'LegacyChangeMembers',
    example: legacyExample({ req_user_id: 1001, group_id: 7, modify_type: 1, user_id_list: [2003] }),
  });

const CODES = Object.values(LEGACY_CODES).map(([code]) => code);

export const LegacyReply = z
  .object({
    error_code: z
      .number()
      .int()
      .refine((c) => CODES.includes(c as never))
      .meta({
        description: `0 ok; ${Object.values(LEGACY_CODES)
          .filter(([c]) => c !== 0)
          .map(([c, text]) => `${c} ${text}`)
          .join('; ')}.`,
      }),
    error_msg: z.string(),
    msg_id: z.number().int().optional().meta({ description: 'SendSingleMessage / SendGroupMessage, on success.' }),
    group_id: z.number().int().optional().meta({ description: 'CreateGroup, on success.' }),
  })
  .strict()
  .meta({
    id: 'LegacyReply',
    description:
      "The old server's reply, byte for byte: HTTP 200, Content-Type text/html;charset=utf-8, jsoncpp's styled JSON, connection closed.",
    example: { error_code: 0, error_msg: '成功', msg_id: 4711 },
  });
