/** POST /v1/groups and POST / DELETE /v1/groups/{id}/members. */
import { z } from 'zod';
import { GroupId, MAX_ID, UserId } from './fields.ts';

/** Most ids one request may add or remove. */
export const MAX_GROUP_MEMBERS = 1000;
/** Longest group name and avatar URL, in UTF-8 bytes (TeamTalk's columns are varchar(256)). */
export const MAX_GROUP_TEXT_BYTES = 256;

const fitsGroupText = (s: string) => Buffer.byteLength(s, 'utf8') <= MAX_GROUP_TEXT_BYTES;

export const GroupText = z.string().refine(fitsGroupText);

export const MemberIds = z
  .array(UserId)
  .min(1)
  .max(MAX_GROUP_MEMBERS)
  .meta({ description: `1 to ${MAX_GROUP_MEMBERS} user ids; repeats are removed.`, example: [2001, 2002] });

/** An acting user: a user id, or 0 (an administrator, only for keys whose senders are "*"). */
export const ActingUser = z.number().int().min(0).max(MAX_ID).meta({
  description:
    'The user acting: a user id the app key may act as, or 0 (absent: 0), an administrator, which only a key whose senders are "*" may use.',
  example: 1001,
});

export const CreateGroupBody = z
  .object({
    creator: UserId.meta({ description: 'The group creator; the app key must be allowed to act as this user.' }),
    name: GroupText.meta({
      description: `The group name, at most ${MAX_GROUP_TEXT_BYTES} UTF-8 bytes; TeamTalk refuses an empty one (group_create_failed).`,
    }),
    type: z.enum(['normal', 'tmp']).optional().meta({ description: 'normal or tmp (default, a temporary group).' }),
    avatar: GroupText.optional().meta({
      description: `An avatar URL, at most ${MAX_GROUP_TEXT_BYTES} UTF-8 bytes; default empty.`,
    }),
    members: MemberIds,
  })
  .strict()
  .meta({
    id: 'CreateGroupRequest',
    description: 'Unknown fields are refused (unknown_field).',
    example: { creator: 1001, name: 'ops', members: [1001, 2001] },
  });

export const ChangeMembersBody = z
  .object({ user: ActingUser.optional(), members: MemberIds })
  .strict()
  .meta({
    id: 'ChangeMembersRequest',
    description: 'Unknown fields are refused (unknown_field).',
    example: { user: 1001, members: [2003] },
  });

export const GroupIdParams = z.object({
  id: z
    .string()
    .regex(/^[1-9]\d{0,9}$/)
    .refine((s) => Number(s) <= MAX_ID)
    .meta({ description: 'The group id, 1 to 4294967295.', example: '7' }),
});

export const GroupCreated = z
  .object({ group_id: GroupId, name: z.string(), members: z.array(UserId) })
  .strict()
  .meta({ id: 'GroupCreated', description: 'The new group, as TeamTalk stored it.' });

export const MembersChanged = z
  .object({
    group_id: GroupId,
    members: z.array(UserId).meta({ description: 'The members after the change.' }),
    changed: z.array(UserId).meta({ description: 'The ids that were added (or removed).' }),
  })
  .strict()
  .meta({ id: 'MembersChanged' });
