/**
 * Checks of the group administration bodies (/v1/groups and the legacy /query/CreateGroup and
 * /query/ChangeMembers). The schemas of schemas/group.ts decide what passes; the checks here word each
 * refusal as an ApiError naming the field and the fix.
 */
import type { AppIdentity } from './auth.ts';
import { maySendAs } from './auth.ts';
import { ApiError } from './errors.ts';
import type { GroupType } from './groups.ts';
import { checkObject, checkValue, type Explainers } from './schema-check.ts';
import {
  ChangeMembersBody as ChangeMembersSchema,
  CreateGroupBody as CreateGroupSchema,
  GroupIdParams,
  MAX_GROUP_MEMBERS,
  MAX_GROUP_TEXT_BYTES,
} from './schemas/group.ts';
import { describe, isPlainObject, requireId, utf8Length } from './validation.ts';

export { MAX_GROUP_MEMBERS, MAX_GROUP_TEXT_BYTES };

/** A non-empty array of ids, at most MAX_GROUP_MEMBERS, deduplicated in their given order. */
export function requireMembers(value: unknown, field: string): number[] {
  if (value === undefined) {
    throw new ApiError('missing_field', `${field} is missing: give a JSON array of user ids`, field);
  }
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_GROUP_MEMBERS) {
    throw new ApiError(
      'invalid_field',
      `${field} is ${Array.isArray(value) ? `an array of ${value.length}` : describe(value)}: give an array of 1 to ${MAX_GROUP_MEMBERS} user ids`,
      field,
    );
  }
  const out = new Set<number>();
  value.forEach((v, i) => out.add(requireId(v, `${field}[${i}]`)));
  return [...out];
}

/** A string of at most MAX_GROUP_TEXT_BYTES bytes; `fallback` when absent (undefined: required). */
export function requireGroupText(value: unknown, field: string, fallback?: string): string {
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    throw new ApiError('missing_field', `${field} is missing: give it as a string`, field);
  }
  if (typeof value !== 'string' || utf8Length(value) > MAX_GROUP_TEXT_BYTES) {
    throw new ApiError(
      'invalid_field',
      `${field} is ${typeof value === 'string' ? 'too long' : describe(value)}: give a string of at most ${MAX_GROUP_TEXT_BYTES} UTF-8 bytes`,
      field,
    );
  }
  return value;
}

/** An acting user: an id, or 0 (an administrator); `undefined` is 0. */
export function requireActingUser(value: unknown, field: string): number {
  if (value === undefined || value === 0) return 0;
  return requireId(value, field);
}

/** Refuses a user the key may not act as; user 0 (administrator) only for keys whose senders are "*". */
export function assertMayActAs(app: AppIdentity, user: number, field: string): void {
  if (user === 0 ? app.senders !== '*' : !maySendAs(app, user)) {
    throw new ApiError(
      'forbidden_sender',
      user === 0
        ? `${field} is 0 (administrator), which only a key whose senders are "*" may use: name a user id listed for the key '${app.name}'`
        : `${field} is ${user}, a user this app key may not act as: use a user id listed for the key '${app.name}'`,
      field,
    );
  }
}

function unknownField(fields: readonly string[]): Explainers['unknown'] {
  return (key) =>
    new ApiError('unknown_field', `${key} is not a known field: remove it (the fields are ${fields.join(', ')})`, key);
}

function requireObject(body: unknown, example: string): Record<string, unknown> {
  if (!isPlainObject(body)) {
    throw new ApiError(
      'invalid_json',
      `the request body is ${body === undefined ? 'missing' : describe(body)}: send a JSON object such as ${example}`,
    );
  }
  return body;
}

export interface CreateGroupBody {
  creator: number;
  name: string;
  type: GroupType;
  avatar: string;
  members: number[];
}

/** POST /v1/groups, checked with CreateGroupRequest. An empty name passes: TeamTalk refuses it, and that refusal is answered as such. */
export function parseCreateGroupBody(raw: unknown): CreateGroupBody {
  const body = requireObject(raw, '{"creator": 1, "name": "ops", "members": [1, 2]}');
  const valid = checkObject(CreateGroupSchema, body, {
    fields: {
      creator: (v) => requireId(v, 'creator'),
      name: (v) => requireGroupText(v, 'name'),
      type: (v) => {
        throw new ApiError('invalid_field', `type is ${describe(v)}: give "normal" or "tmp"`, 'type');
      },
      avatar: (v) => requireGroupText(v, 'avatar', ''),
      members: (v) => requireMembers(v, 'members'),
    },
    unknown: unknownField(Object.keys(CreateGroupSchema.shape)),
  });
  return {
    creator: valid.creator,
    name: valid.name,
    type: valid.type ?? 'tmp',
    avatar: valid.avatar ?? '',
    members: [...new Set(valid.members)],
  };
}

export interface ChangeMembersBody {
  user: number;
  members: number[];
}

/** POST and DELETE /v1/groups/:id/members, checked with ChangeMembersRequest. */
export function parseChangeMembersBody(raw: unknown): ChangeMembersBody {
  const body = requireObject(raw, '{"members": [3]}');
  const valid = checkObject(ChangeMembersSchema, body, {
    fields: {
      user: (v) => requireActingUser(v, 'user'),
      members: (v) => requireMembers(v, 'members'),
    },
    unknown: unknownField(Object.keys(ChangeMembersSchema.shape)),
  });
  return { user: valid.user ?? 0, members: [...new Set(valid.members)] };
}

/** The :id of /v1/groups/:id/members: decimal digits naming an id 1..4294967295. */
export function parseGroupIdParam(raw: string): number {
  return Number(
    checkValue(
      GroupIdParams.shape.id,
      raw,
      () =>
        new ApiError('invalid_field', 'the group id in the path is not an integer from 1 to 4294967295', 'group_id'),
    ),
  );
}
