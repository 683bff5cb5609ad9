/**
 * Checks of what callers send, shared by /v1 and the legacy /query endpoints. The request schemas
 * (schemas/*.ts, the same ones /openapi.json shows) decide what passes; the checks here word each
 * refusal as an ApiError naming the field and the fix, and hold what a schema cannot (limits from the
 * configuration, "after now"). The legacy routes answer every such error with error 1.
 */
import { PRIORITIES, type Priority, type Recipient, type SubmitRequest } from '@ttpush/contract';
import { ApiError } from './errors.ts';
import { checkObject, checkValue, type Explainers } from './schema-check.ts';
import { IdempotencyKey, MAX_ID, METADATA_MAX_BYTES, MAX_WAIT_SECONDS, Rfc3339, UserId } from './schemas/fields.ts';
import { SendMessageBody, SendMessageQuery } from './schemas/message.ts';
import { assertNotBoth, requireParts } from './parts.ts';

export { MAX_ID, METADATA_MAX_BYTES, MAX_WAIT_SECONDS };

/** What the API hands to the queue: a submit request before the app, idempotency and notify are added. */
export type SendInput = Pick<
  SubmitRequest,
  'from' | 'to' | 'text' | 'withParts' | 'priority' | 'sendAt' | 'deadline' | 'metadata' | 'callbackUrl'
>;

const RECIPIENT_FIELDS: ReadonlySet<string> = new Set(['user', 'group']);

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return `${value}`;
  return 'an object';
}

export function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** A user or group id: a JSON integer from 1 to 4294967295 (strings and fractions are refused). */
export function requireId(value: unknown, field: string): number {
  if (value === undefined) {
    throw new ApiError('missing_field', `${field} is missing: give it as a JSON integer from 1 to ${MAX_ID}`, field);
  }
  const parsed = UserId.safeParse(value);
  if (!parsed.success) {
    const hint = typeof value === 'string' ? ' (write the number without quotes)' : '';
    throw new ApiError(
      'invalid_field',
      `${field} is ${describe(value)}, not an integer from 1 to ${MAX_ID}: give it as a JSON integer in that range${hint}`,
      field,
    );
  }
  return parsed.data;
}

/** The text to send: a non-empty string, or an object sent as its compact JSON text; at most `maxBytes` UTF-8 bytes. */
export function requireContent(value: unknown, field: string, maxBytes: number): string {
  if (value === undefined) {
    throw new ApiError('missing_field', `${field} is missing: give the text as a string, or a JSON object`, field);
  }
  let text: string;
  if (typeof value === 'string') {
    if (value.length === 0) {
      throw new ApiError(
        'content_empty',
        `${field} is empty: TeamTalk cannot carry an empty text, give at least one character`,
        field,
      );
    }
    text = value;
  } else if (isPlainObject(value)) {
    text = JSON.stringify(value);
  } else {
    throw new ApiError(
      'invalid_field',
      `${field} is ${describe(value)}: give a non-empty string, or a JSON object (sent as its JSON text)`,
      field,
    );
  }
  const size = utf8Length(text);
  if (size > maxBytes) {
    throw new ApiError(
      'content_too_long',
      `${field} is ${size} bytes of UTF-8, over the limit of ${maxBytes} bytes: shorten it to ${maxBytes} bytes or less`,
      field,
    );
  }
  return text;
}

function requireRecipient(value: unknown): Recipient {
  const hint = 'give {"user": <user id>} or {"group": <group id>}';
  if (value === undefined) throw new ApiError('missing_field', `to is missing: ${hint}`, 'to');
  if (!isPlainObject(value))
    throw new ApiError('invalid_field', `to is ${describe(value)}, not an object: ${hint}`, 'to');
  for (const key of Object.keys(value)) {
    if (!RECIPIENT_FIELDS.has(key)) {
      throw new ApiError(
        'unknown_field',
        `to.${key} is not a known field: to takes only "user" or "group"`,
        `to.${key}`,
      );
    }
  }
  const hasUser = Object.hasOwn(value, 'user');
  const hasGroup = Object.hasOwn(value, 'group');
  if (hasUser && hasGroup) {
    throw new ApiError('invalid_field', `to holds both user and group: ${hint}, exactly one`, 'to');
  }
  if (hasUser) return { user: requireId(value.user, 'to.user') };
  if (hasGroup) return { group: requireId(value.group, 'to.group') };
  throw new ApiError('missing_field', `to holds neither user nor group: ${hint}`, 'to');
}

/** `fallback` is the app key's default priority (config `priority`), "normal" when the key has none. */
export function optionalPriority(value: unknown, fallback: Priority = 'normal'): Priority {
  if (value === undefined || value === null) return fallback;
  const found = PRIORITIES.find((p) => p === value);
  if (found === undefined) {
    throw new ApiError(
      'invalid_field',
      `priority is ${describe(value)}: give one of "high", "normal" or "low" (or leave it out for the app key's default, "${fallback}")`,
      'priority',
    );
  }
  return found;
}

export function optionalSendAt(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !Rfc3339.safeParse(value).success) {
    throw new ApiError(
      'invalid_field',
      `send_at is ${typeof value === 'string' ? JSON.stringify(value) : describe(value)}, not an RFC 3339 time: write it like "2025-01-31T09:30:00Z" or "2025-01-31T17:30:00+08:00"`,
      'send_at',
    );
  }
  return Date.parse(value);
}

/** "Drop if not sent by": an RFC 3339 time after now and after send_at when both are given. */
export function optionalDeadline(value: unknown, sendAt: number | undefined, now: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !Rfc3339.safeParse(value).success) {
    throw new ApiError(
      'invalid_field',
      `deadline is ${typeof value === 'string' ? JSON.stringify(value) : describe(value)}, not an RFC 3339 time: write it like "2025-01-31T18:00:00Z"`,
      'deadline',
    );
  }
  const deadline = Date.parse(value);
  if (deadline <= Math.max(now, sendAt ?? 0)) {
    throw new ApiError(
      'invalid_field',
      `deadline ${value} is not after ${sendAt !== undefined && sendAt >= now ? 'send_at' : 'now'}: nothing could be sent; give a later deadline or leave it out`,
      'deadline',
    );
  }
  return deadline;
}

function optionalMetadata(value: unknown): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isPlainObject(value)) {
    throw new ApiError(
      'invalid_field',
      `metadata is ${describe(value)}: give a JSON object, or leave it out`,
      'metadata',
    );
  }
  const size = utf8Length(JSON.stringify(value));
  if (size > METADATA_MAX_BYTES) {
    throw new ApiError(
      'invalid_field',
      `metadata is ${size} bytes as JSON, over the limit of ${METADATA_MAX_BYTES}: keep it to ${METADATA_MAX_BYTES} bytes or less`,
      'metadata',
    );
  }
  return value;
}

/** Webhooks: where this message's (or batch's) events are also posted; the SSRF policy is checked by the route. */
export function optionalCallbackUrl(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !/^https?:\/\/\S{1,2040}$/i.test(value)) {
    throw new ApiError(
      'invalid_field',
      `callback_url is ${typeof value === 'string' ? JSON.stringify(value.slice(0, 100)) : describe(value)}: give an https:// (or http://) URL of at most 2048 characters, or leave it out`,
      'callback_url',
    );
  }
  return value;
}

/**
 * The explainers of one (content limit, default priority), made once: built per request, their closures cost
 * about as much as the schema check itself (tsx names each one with Object.defineProperty).
 */
const explainers = new Map<string, Explainers>();
function explainersFor(maxContentBytes: number, defaultPriority: Priority): Explainers {
  const key = `${maxContentBytes}:${defaultPriority}`;
  let e = explainers.get(key);
  if (e === undefined) explainers.set(key, (e = sendExplainers(maxContentBytes, defaultPriority)));
  return e;
}

const sendExplainers = (maxContentBytes: number, defaultPriority: Priority): Explainers => ({
  fields: {
    from: (v) => requireId(v, 'from'),
    to: requireRecipient,
    content: (v) => requireContent(v, 'content', maxContentBytes),
    parts: (v) => requireParts(v, 'parts', maxContentBytes),
    priority: (v) => optionalPriority(v, defaultPriority),
    send_at: optionalSendAt,
    deadline: (v) => optionalDeadline(v, undefined, Date.now()),
    metadata: optionalMetadata,
    callback_url: optionalCallbackUrl,
  },
  unknown: (key) =>
    new ApiError(
      'unknown_field',
      `${key} is not a known field: remove it (the fields are ${Object.keys(SendMessageBody.shape).join(', ')})`,
      key,
    ),
});

/**
 * The body of POST /v1/messages, checked with SendMessageBody; then the content's size (a configured
 * limit), the deadline against now and send_at, and the recipient against the sender.
 */
export function parseSendBody(body: unknown, maxContentBytes: number, defaultPriority: Priority = 'normal'): SendInput {
  if (!isPlainObject(body)) {
    throw new ApiError(
      'invalid_json',
      `the request body is ${body === undefined ? 'missing' : describe(body)}: send a JSON object such as {"from": 1, "to": {"user": 2}, "content": "hello"}`,
    );
  }
  const valid = checkObject(SendMessageBody, body, explainersFor(maxContentBytes, defaultPriority));
  const { from, to } = valid;
  assertNotBoth(valid.content, valid.parts);
  const withParts = valid.parts !== undefined;
  const text = withParts
    ? requireParts(valid.parts, 'parts', maxContentBytes)
    : requireContent(valid.content, 'content', maxContentBytes);
  const priority = valid.priority ?? defaultPriority;
  const sendAt = optionalSendAt(valid.send_at);
  const deadline = optionalDeadline(valid.deadline, sendAt, Date.now());
  const callbackUrl = optionalCallbackUrl(valid.callback_url);
  if ('user' in to) assertNotSelf(from, to.user, 'to.user', 'from');
  const input: SendInput = { from, to, text, priority };
  if (withParts) input.withParts = true;
  if (sendAt !== undefined) input.sendAt = sendAt;
  if (deadline !== undefined) input.deadline = deadline;
  if (valid.metadata != null) input.metadata = valid.metadata;
  if (callbackUrl !== undefined) input.callbackUrl = callbackUrl;
  return input;
}

/** TeamTalk answers a single text to oneself with msg_id 0 (notes §6): refuse it up front. */
export function assertNotSelf(from: number, toUser: number, field: string, fromField: string): void {
  if (from === toUser) {
    throw new ApiError(
      'self_send',
      `${field} is the sender itself (${fromField} ${from}): TeamTalk does not store a text to oneself, send it to another user`,
      field,
    );
  }
}

/** The optional Idempotency-Key header: 1 to 200 printable ASCII characters. */
export function parseIdempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  return checkValue(
    IdempotencyKey,
    header,
    () =>
      new ApiError(
        'invalid_field',
        'the Idempotency-Key header must be 1 to 200 printable ASCII characters: use e.g. a UUID',
        'Idempotency-Key',
      ),
  );
}

/** `?wait=N`: seconds, 0 < N ≤ 30 (up to 3 decimals). */
export function parseWait(raw: unknown): number | undefined {
  return checkValue(
    SendMessageQuery.shape.wait,
    raw,
    () =>
      new ApiError(
        'invalid_field',
        `wait must be a number of seconds greater than 0 and at most ${MAX_WAIT_SECONDS}, given once: e.g. ?wait=10`,
        'wait',
      ),
  );
}
