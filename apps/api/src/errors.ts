/**
 * The API's error codes and the one table that maps each to its HTTP status. Every 4xx/5xx body
 * on /v1 is `{"error": {"code", "message", "field"}}`; code branches on `code`, never on `message`.
 */

export const ERROR_STATUS = {
  invalid_json: 400,
  invalid_field: 400,
  missing_field: 400,
  unknown_field: 400,
  content_empty: 400,
  content_too_long: 400,
  self_send: 400,
  invalid_recipient: 400,
  webhook_url_refused: 400,
  unauthorized: 401,
  forbidden_sender: 403,
  forbidden_group: 403,
  forbidden_scope: 403,
  admin_disabled: 403,
  cross_origin_refused: 403,
  group_change_forbidden: 403,
  group_not_found: 404,
  not_found: 404,
  app_not_found: 404,
  key_not_found: 404,
  method_not_allowed: 405,
  not_cancellable: 409,
  not_pausable: 409,
  not_resumable: 409,
  app_exists: 409,
  key_revoked: 409,
  too_many_endpoints: 409,
  callback_secret_missing: 409,
  group_create_failed: 422,
  idempotency_key_reused: 422,
  upload_timeout: 408,
  too_many_lines: 413,
  body_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  quota_exceeded: 429,
  internal_error: 500,
  redis_unavailable: 503,
  teamtalk_unavailable: 503,
} as const satisfies Record<string, number>;

export type ApiErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorBody {
  error: { code: ApiErrorCode; message: string; field: string | null };
  [extra: string]: unknown;
}

/**
 * A refusal the API answers with `ERROR_STATUS[code]`. `message` is a sentence that names the field and the fix.
 * It carries no stack: a refusal is not a bug, and capturing one was most of the cost of refusing an input (a
 * million invalid lines under ?skip_invalid=true are a million refusals).
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly code: ApiErrorCode;
  readonly field: string | null;
  /** Response headers that belong to this refusal (Allow, WWW-Authenticate, Retry-After). */
  readonly headers: Readonly<Record<string, string>>;
  /** Top-level keys added beside `error` in the body (e.g. the current `message` view). */
  readonly extra: Readonly<Record<string, unknown>>;

  constructor(
    code: ApiErrorCode,
    message: string,
    field: string | null = null,
    headers: Readonly<Record<string, string>> = {},
    extra: Readonly<Record<string, unknown>> = {},
  ) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(message);
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.code = code;
    this.field = field;
    this.headers = headers;
    this.extra = extra;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }

  body(): ErrorBody {
    return { error: { code: this.code, message: this.message, field: this.field }, ...this.extra };
  }
}

/** Codes that mean "the request's content is wrong": the legacy /query endpoints answer all of them with error 1. */
export const INPUT_ERROR_CODES: ReadonlySet<ApiErrorCode> = new Set([
  'invalid_json',
  'invalid_field',
  'missing_field',
  'unknown_field',
  'content_empty',
  'content_too_long',
  'self_send',
  'invalid_recipient',
  'webhook_url_refused',
  'body_too_large',
  'unsupported_media_type',
]);
