/**
 * The log line of a legacy /query request answered error 1 (参数错误). The reply must stay the old bytes, which
 * say nothing of the cause, so the api's log names the field and the fix, and a field the old API never had but
 * newcomers send (group_id on SendGroupMessage) is pointed to the one it meant.
 */
import type { Response } from 'express';
import type { Logger } from 'pino';
import { locals } from './locals.ts';

/** The fields of each legacy endpoint, in the order the README documents them. */
export const LEGACY_FIELDS: Readonly<Record<string, readonly string[]>> = {
  '/query/SendSingleMessage': ['app_key', 'req_user_id', 'from_user_id', 'session_id', 'msg'],
  '/query/SendGroupMessage': ['app_key', 'req_user_id', 'from_user_id', 'session_id', 'msg'],
  '/query/CreateGroup': ['app_key', 'req_user_id', 'group_name', 'group_type', 'group_avatar', 'user_id_list'],
  '/query/ChangeMembers': ['app_key', 'req_user_id', 'group_id', 'modify_type', 'user_id_list'],
};

/** Names sent by mistake, and the field each most likely meant (when the endpoint has it). */
const MEANT: Readonly<Record<string, readonly string[]>> = {
  session_id: ['group_id', 'to_user_id', 'to_id', 'to', 'user_id', 'target_id', 'peer_id'],
  from_user_id: ['from_id', 'from', 'sender_id', 'user_id'],
  msg: ['content', 'message', 'text', 'msg_data', 'body'],
  group_id: ['session_id', 'group'],
  user_id_list: ['members', 'user_ids', 'users', 'member_list'],
  group_name: ['name'],
  req_user_id: ['creator', 'user', 'from_user_id'],
};

/**
 * The sentence to log for a refused field: `reason` (what the check said), then, when the body carries fields this
 * endpoint does not have, which of them was probably meant for `field`, or that they are ignored.
 */
export function legacyRefusalReason(
  endpoint: string,
  field: string | null,
  reason: string,
  body: Record<string, unknown> | undefined,
): string {
  const fields = LEGACY_FIELDS[endpoint] ?? [];
  const strangers = body ? Object.keys(body).filter((k) => !fields.includes(k)) : [];
  if (strangers.length === 0) return reason;
  const meant = field === null ? undefined : strangers.find((k) => MEANT[field]?.includes(k));
  if (meant !== undefined && field !== null) {
    return `${reason} (${meant} is not a field of ${endpoint}: give the value as ${field})`;
  }
  const list = strangers.slice(0, 5).join(', ');
  return `${reason} (${endpoint} ignores ${list}; its fields are ${fields.join(', ')})`;
}

/** One info line per error 1, naming the field (null: the body as a whole) and the fix. */
export function logLegacyRefusal(
  logger: Logger,
  res: Response,
  endpoint: string,
  field: string | null,
  reason: string,
  body?: Record<string, unknown>,
): void {
  const why = legacyRefusalReason(endpoint, field, reason, body);
  logger.info(
    { reqId: locals(res).requestId, endpoint, error_code: 1, field, reason: why },
    `legacy ${endpoint} refused with error 1 (参数错误): ${why}`,
  );
}
