/**
 * Checks of a batch upload: the header (the JSON body's top level, or an NDJSON upload's first line) and
 * each recipient. Every check throws an ApiError naming the field and the fix; the batches route turns a
 * recipient's error into `invalid_recipient` naming the line (NDJSON) or index (JSON), or records it as
 * rejected under ?skip_invalid=true.
 */
import { z } from 'zod';
import type { BatchHeader, BatchRecipient, Priority, Recipient, RejectedInput } from '@ttpush/contract';
import { ApiError } from './errors.ts';
import { checkObject, checkWith } from './schema-check.ts';
import { BatchJsonBody, BatchNdjsonHeader, BatchRecipient as BatchRecipientSchema } from './schemas/batch.ts';
import {
  assertNotSelf,
  describe,
  isPlainObject,
  optionalCallbackUrl,
  optionalDeadline,
  optionalPriority,
  optionalSendAt,
  requireContent,
  requireId,
} from './validation.ts';
import { assertNotBoth, requireParts } from './parts.ts';

/** The JSON body's top level: its recipients are checked one by one (parseBatchRecipient), each with BatchRecipient. */
const JSON_HEADER = BatchJsonBody.extend({ recipients: z.array(z.unknown()).min(1) });
const RECIPIENT_FIELDS: ReadonlySet<string> = new Set(['user', 'group', 'content', 'parts']);
/** Characters of a refused input kept in the results. */
const INPUT_KEPT = 300;

export type UploadFormat = 'json' | 'ndjson';

/**
 * The batch-wide fields, checked with BatchJsonBody (JSON) or BatchNdjsonHeader (NDJSON line 1); then the
 * content's size (a configured limit) and the deadline against now and send_at.
 */
export function parseBatchHeader(
  body: Record<string, unknown>,
  format: UploadFormat,
  maxContentBytes: number,
  defaultPriority: Priority = 'normal',
): BatchHeader {
  const schema = format === 'json' ? JSON_HEADER : BatchNdjsonHeader;
  const valid = checkObject(schema, body, {
    fields: {
      from: (v) => requireId(v, 'from'),
      content: (v) => requireContent(v, 'content', maxContentBytes),
      parts: (v) => requireParts(v, 'parts', maxContentBytes),
      priority: (v) => optionalPriority(v, defaultPriority),
      send_at: optionalSendAt,
      deadline: (v) => optionalDeadline(v, undefined, Date.now()),
      callback_url: optionalCallbackUrl,
      recipients: (v) => {
        throw new ApiError(
          v === undefined ? 'missing_field' : 'invalid_field',
          'recipients must be a non-empty array such as [{"user": 2}, {"group": 7}]: for very many recipients, stream NDJSON',
          'recipients',
        );
      },
    },
    unknown: (key) =>
      new ApiError(
        'unknown_field',
        format === 'json'
          ? `${key} is not a known field: remove it (the fields are ${Object.keys(BatchJsonBody.shape).join(', ')})`
          : `line 1 has ${key}, not a header field: the first line holds ${Object.keys(BatchNdjsonHeader.shape).join(', ')}; recipients follow, one per line`,
        key,
      ),
  });
  assertNotBoth(valid.content, valid.parts);
  const text =
    valid.parts !== undefined
      ? requireParts(valid.parts, 'parts', maxContentBytes)
      : valid.content === undefined
        ? undefined
        : requireContent(valid.content, 'content', maxContentBytes);
  const priority = valid.priority ?? defaultPriority;
  const sendAt = optionalSendAt(valid.send_at);
  const deadline = optionalDeadline(valid.deadline, sendAt, Date.now());
  const callbackUrl = optionalCallbackUrl(valid.callback_url);
  return { from: valid.from, text, priority, sendAt, deadline, ...(callbackUrl !== undefined && { callbackUrl }) };
}

/**
 * One recipient: {"user": id} or {"group": id}, optionally with its own "content", checked with
 * BatchRecipient; then its content (its own, within the size limit, or the batch's) and the sender.
 * `prefix` is its path in a JSON body (`recipients[12]`), or '' for an NDJSON line (whose number the
 * caller adds).
 */
export function parseBatchRecipient(
  value: unknown,
  header: BatchHeader,
  maxContentBytes: number,
  prefix: string,
): BatchRecipient {
  // The explainer first: it refuses a bad recipient in words of its own at a fraction of the cost of a schema
  // failure (a million invalid lines under skip_invalid must stay cheap); the schema still decides what passes.
  // It also checks the recipient's own content or parts once, and gives the text they make.
  const own = explainRecipient(value, maxContentBytes, prefix);
  const valid = checkWith(BatchRecipientSchema, value, () => undefined, prefix);
  let to: Recipient;
  if ('user' in valid) {
    assertNotSelf(header.from, valid.user, fieldPath(prefix, 'user'), 'from');
    to = { user: valid.user };
  } else {
    to = { group: valid.group };
  }
  assertNotBoth(valid.content, valid.parts, prefix);
  const text = own;
  if (text === undefined && header.text === undefined) {
    throw new ApiError(
      'missing_field',
      prefix
        ? `${fieldPath(prefix, 'content')} is missing and the batch has no content: give "content" here, or a top-level "content" for every recipient`
        : 'content is missing and the header (line 1) has none: give "content" on this line, or in the header for every recipient',
      fieldPath(prefix, 'content'),
    );
  }
  return { to, text };
}

/**
 * Refuses a bad recipient in words of its own (before BatchRecipient, so a refusal stays cheap); returns the text of
 * its own parts or content, checked within the size limit, or undefined when it has neither.
 */
function explainRecipient(value: unknown, maxContentBytes: number, prefix: string): string | undefined {
  const label = prefix || 'the line';
  const hint = 'give {"user": <user id>} or {"group": <group id>}, with an optional "content" (or "parts")';
  if (!isPlainObject(value)) {
    throw new ApiError('invalid_field', `${label} is ${describe(value)}, not an object: ${hint}`, prefix || null);
  }
  for (const key of Object.keys(value)) {
    if (!RECIPIENT_FIELDS.has(key)) {
      throw new ApiError(
        'unknown_field',
        `${fieldPath(prefix, key)} is not a known field: ${hint}`,
        fieldPath(prefix, key),
      );
    }
  }
  const hasUser = Object.hasOwn(value, 'user');
  const hasGroup = Object.hasOwn(value, 'group');
  if (hasUser === hasGroup) {
    throw new ApiError(
      hasUser ? 'invalid_field' : 'missing_field',
      `${label} holds ${hasUser ? 'both user and group' : 'neither user nor group'}: ${hint}, exactly one of the two`,
      prefix || null,
    );
  }
  if (hasUser) requireId(value.user, fieldPath(prefix, 'user'));
  else requireId(value.group, fieldPath(prefix, 'group'));
  const content =
    value.content === undefined
      ? undefined
      : requireContent(value.content, fieldPath(prefix, 'content'), maxContentBytes);
  return value.parts === undefined ? content : requireParts(value.parts, fieldPath(prefix, 'parts'), maxContentBytes);
}

/** A field of a recipient: `recipients[12].user` in a JSON body, `user` on an NDJSON line (prefix ''). */
function fieldPath(prefix: string, name: string): string {
  return prefix ? `${prefix}.${name}` : name;
}

/** Where a refused recipient was: an NDJSON line number, or an index in the JSON body's recipients. */
export type Position = { line: number } | { index: number };

/** The 400 for a refused recipient: names the line or index, and the way to skip such recipients. */
export function invalidRecipient(err: ApiError, at: Position): ApiError {
  const where = 'line' in at ? `line ${at.line}: ` : '';
  return new ApiError(
    'invalid_recipient',
    `${where}${err.message}. Nothing was queued: fix the recipient, or send with ?skip_invalid=true to skip invalid recipients`,
    err.field,
    {},
    'line' in at ? { line: at.line } : { index: at.index },
  );
}

/** The record of a recipient refused under ?skip_invalid=true, as the results list it. */
export function rejectedInput(err: ApiError, at: Position, input: string): RejectedInput {
  return {
    ...at,
    input: input.length > INPUT_KEPT ? `${input.slice(0, INPUT_KEPT)}…` : input,
    code: err.code,
    message: 'line' in at ? `line ${at.line}: ${err.message}` : err.message,
  };
}
