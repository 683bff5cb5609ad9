/**
 * The API reference of the legacy /query endpoints (routes/legacy.ts, routes/legacy-groups.ts): the old
 * http_msg_server's bodies, read as JSON whatever the Content-Type, answered HTTP 200 with an error_code.
 */
import type { z } from 'zod';
import {
  LegacyChangeMembersBody,
  LegacyCreateGroupBody,
  LegacyReply,
  LegacySendGroupBody,
  LegacySendSingleBody,
} from '../schemas/legacy.ts';
import { defineOperation } from './registry.ts';

const REPLY = {
  description:
    "Always HTTP 200 (the old server's reply, byte for byte); error_code says what happened. The app key is in the body (app_key), not a header. The reply never names a wrong field: for an error_code 1 the api logs one info line with the field and the fix (e.g. session_id missing, group_id is not a field of SendGroupMessage).",
  body: { contentType: 'text/html', schema: LegacyReply, example: LegacyReply.meta()?.example },
};

function legacy(path: string, operationId: string, summary: string, schema: z.ZodType, description: string): void {
  defineOperation({
    method: 'post',
    path,
    tag: 'Legacy',
    operationId,
    summary,
    description,
    auth: 'none',
    body: { contentType: 'application/json', schema, example: schema.meta()?.example },
    responses: { '200': REPLY },
  });
}

legacy(
  '/query/SendSingleMessage',
  'legacySendSingleMessage',
  'Send a text to a user (drop-in for http_msg_server)',
  LegacySendSingleBody,
  'Answered once the message is stored (error_code 0 with msg_id) or after TTPUSH_LEGACY_WAIT_MS (error_code 10). Errors: 1 bad parameters, 2 unknown app key, 3 a sender the key may not use, 8 failed, 10 TeamTalk unreachable or busy.',
);
legacy(
  '/query/SendGroupMessage',
  'legacySendGroupMessage',
  'Send a text to a group (drop-in for http_msg_server)',
  LegacySendGroupBody,
  'As SendSingleMessage, with session_id the group (there is no group_id field: it is ignored, and session_id is then missing, error 1).',
);
legacy(
  '/query/CreateGroup',
  'legacyCreateGroup',
  'Create a group (drop-in for http_msg_server)',
  LegacyCreateGroupBody,
  'Answers group_id on success. Errors: 1, 2, 3, 10, 11 TeamTalk refused or dropped the create.',
);
legacy(
  '/query/ChangeMembers',
  'legacyChangeMembers',
  'Add or remove group members (drop-in for http_msg_server)',
  LegacyChangeMembersBody,
  'Errors: 1, 2, 3, 10, 12 TeamTalk refused or dropped the change.',
);
