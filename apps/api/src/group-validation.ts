/**
 * Checks of the group administration bodies (/v1/groups and the legacy /query/CreateGroup and
 * /query/ChangeMembers). Each check throws an ApiError naming the field and the fix.
 */
import type { AppIdentity } from './auth.ts';
import { maySendAs } from './auth.ts';
import { ApiError } from './errors.ts';
import type { GroupType } from './groups.ts';
import { describe, isPlainObject, requireId, utf8Length } from './validation.ts';

/** Most ids one request may add or remove. */
export const MAX_GROUP_MEMBERS = 1000;
/** Longest group name and avatar URL, in UTF-8 bytes (TeamTalk's columns are varchar(256)). */
export const MAX_GROUP_TEXT_BYTES = 256;

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

function assertKnownFields(body: Record<string, unknown>, fields: readonly string[]): void {
  for (const key of Object.keys(body)) {
    if (!fields.includes(key)) {
      throw new ApiError(
        'unknown_field',
        `${key} is not a known field: remove it (the fields are ${fields.join(', ')})`,
        key,
      );
    }
  }
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

const CREATE_FIELDS = ['creator', 'name', 'type', 'avatar', 'members'] as const;

/** POST /v1/groups. An empty name passes: TeamTalk refuses it, and that refusal is answered as such. */
export function parseCreateGroupBody(raw: unknown): CreateGroupBody {
  const body = requireObject(raw, '{"creator": 1, "name": "ops", "members": [1, 2]}');
  assertKnownFields(body, CREATE_FIELDS);
  const creator = requireId(body.creator, 'creator');
  const name = requireGroupText(body.name, 'name');
  let type: GroupType = 'tmp';
  if (body.type !== undefined) {
    if (body.type !== 'normal' && body.type !== 'tmp') {
      throw new ApiError('invalid_field', `type is ${describe(body.type)}: give "normal" or "tmp"`, 'type');
    }
    type = body.type;
  }
  const avatar = requireGroupText(body.avatar, 'avatar', '');
  const members = requireMembers(body.members, 'members');
  return { creator, name, type, avatar, members };
}

export interface ChangeMembersBody {
  user: number;
  members: number[];
}

/** POST and DELETE /v1/groups/:id/members. */
export function parseChangeMembersBody(raw: unknown): ChangeMembersBody {
  const body = requireObject(raw, '{"members": [3]}');
  assertKnownFields(body, ['user', 'members']);
  return { user: requireActingUser(body.user, 'user'), members: requireMembers(body.members, 'members') };
}

/** The :id of /v1/groups/:id/members: decimal digits naming an id 1..4294967295. */
export function parseGroupIdParam(raw: string): number {
  const n = /^[1-9]\d{0,9}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n > 4294967295) {
    throw new ApiError('invalid_field', `the group id in the path is not an integer from 1 to 4294967295`, 'group_id');
  }
  return n;
}
