/**
 * The one error the client throws. `status` is the HTTP status, or 0 when no answer came (the request
 * could not reach ttpush, or timed out). `code` is the api's stable error code (`invalid_field`,
 * `unauthorized`, ...) or one of the client's own: `unreachable`, `timeout`, `bad_response`.
 */
export const CLIENT_ERROR_CODES = ['unreachable', 'timeout', 'bad_response'] as const;
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

export class TtpushError extends Error {
  override readonly name = 'TtpushError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field: string | null = null,
    /** The error body's other top-level keys (e.g. the current `message` or `batch` view on a 409). */
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }

  /** True when no answer came or ttpush failed on its side (5xx): the request may be worth sending again. */
  get unavailable(): boolean {
    return this.status === 0 || this.status >= 500;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The TtpushError for a refused request, from its status and body text (`{"error": {code, message, field}}`). */
export function errorFromResponse(status: number, text: string): TtpushError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const err = isRecord(body) ? body.error : undefined;
  if (isRecord(err) && typeof err.code === 'string' && typeof err.message === 'string') {
    const { error: _error, ...details } = body as Record<string, unknown>;
    return new TtpushError(status, err.code, err.message, typeof err.field === 'string' ? err.field : null, details);
  }
  return new TtpushError(status, 'bad_response', `HTTP ${status} without an error body: ${text.slice(0, 200)}`);
}
