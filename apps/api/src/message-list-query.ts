/** The query of GET /v1/messages and of the console's message list, read into a ListQuery or refused with a 400. */
import { LIST_DEFAULT_LIMIT, decodeListCursor, type ListQuery, type ListScope } from '@ttpush/store';
import type { MessageStatus } from '@ttpush/contract';
import { ApiError } from './errors.ts';
import { LIST_QUERY_FIX, ListMessagesQuery } from './schemas/message-list.ts';

type Param = keyof typeof LIST_QUERY_FIX;

function refuse(param: Param, value: unknown): never {
  throw new ApiError(
    'invalid_field',
    `the query parameter ${param}=${JSON.stringify(value)} is not valid: ${LIST_QUERY_FIX[param]}`,
    param,
  );
}

/** `query` as Express parsed it; `scope`: whose messages (the caller's app, or its key without read_all). */
export function parseListQuery(query: Record<string, unknown>, scope: ListScope): ListQuery {
  for (const [name, value] of Object.entries(query)) {
    if (!(name in LIST_QUERY_FIX)) {
      throw new ApiError(
        'unknown_field',
        `${name} is not a query parameter of this list: remove it (the parameters are ${Object.keys(LIST_QUERY_FIX).join(', ')})`,
        name,
      );
    }
    if (typeof value !== 'string') {
      throw new ApiError(
        'invalid_field',
        `the query parameter ${name} is given more than once: give it once (several statuses go comma-separated in one status=)`,
        name,
      );
    }
  }
  const parsed = ListMessagesQuery.safeParse(query);
  if (!parsed.success) {
    const param = String(parsed.error.issues[0]!.path[0]) as Param;
    refuse(param, query[param]);
  }
  const q = parsed.data;
  if (q.to_user !== undefined && q.to_group !== undefined) {
    throw new ApiError(
      'invalid_field',
      'to_user and to_group are both given, and a message has one recipient: give one of them',
      'to_group',
    );
  }
  const since = q.since === undefined ? undefined : Date.parse(q.since);
  const until = q.until === undefined ? undefined : Date.parse(q.until);
  if (since !== undefined && until !== undefined && until <= since) {
    throw new ApiError(
      'invalid_field',
      `until (${q.until}) is not after since (${q.since}): give a later until`,
      'until',
    );
  }
  const after = q.cursor === undefined ? undefined : (decodeListCursor(q.cursor) ?? refuse('cursor', q.cursor));
  return {
    scope,
    limit: q.limit ?? LIST_DEFAULT_LIMIT,
    ...(q.status !== undefined && { statuses: new Set(q.status.split(',') as MessageStatus[]) }),
    ...(q.from !== undefined && { from: q.from }),
    ...(q.to_user !== undefined && { toUser: q.to_user }),
    ...(q.to_group !== undefined && { toGroup: q.to_group }),
    ...(since !== undefined && { since }),
    ...(until !== undefined && { until }),
    ...(after !== undefined && { after }),
  };
}
