/**
 * The one place errors become responses. Bad input (including what body-parser refuses) gets its
 * documented 4xx; Redis down gets 503 at once; anything else is a bug: 500 internal_error, logged
 * with the request id, with no detail in the response.
 */
import type { ErrorRequestHandler } from 'express';
import type { Logger } from 'pino';
import { ApiError, INPUT_ERROR_CODES } from './errors.ts';
import { sendLegacyReply, type LegacyReply } from './legacy-reply.ts';
import { logLegacyRefusal } from './legacy-refusal.ts';
import { locals } from './locals.ts';

export function isServiceUnavailable(err: unknown): boolean {
  return err instanceof Error && (err as { code?: unknown }).code === 'redis_unavailable';
}

function httpStatusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const s = (err as { status?: unknown; statusCode?: unknown }).status ?? (err as { statusCode?: unknown }).statusCode;
  return typeof s === 'number' ? s : undefined;
}

/** The ApiError an error stands for, or null when it is a bug. */
export function toApiError(err: unknown): ApiError | null {
  if (err instanceof ApiError) return err;
  if (isServiceUnavailable(err)) {
    return new ApiError(
      'redis_unavailable',
      'the message queue (Redis) is unreachable: nothing was accepted, retry in a moment',
      null,
      { 'Retry-After': '1' },
    );
  }
  if (err instanceof Error && (err as { code?: unknown }).code === 'idempotency_key_reused') {
    const first = (err as { firstId?: unknown }).firstId;
    return new ApiError(
      'idempotency_key_reused',
      `this Idempotency-Key was first used with another request${typeof first === 'string' ? ` (${first})` : ''}: send the same request again to get its first answer, or use a new key for a new request`,
      'Idempotency-Key',
    );
  }
  const type = typeof err === 'object' && err !== null ? (err as { type?: unknown }).type : undefined;
  switch (type) {
    case 'entity.parse.failed':
      return new ApiError('invalid_json', 'the request body is not valid JSON: send a JSON object');
    case 'utf8.invalid':
      return new ApiError('invalid_json', 'the request body is not valid UTF-8: send JSON encoded as UTF-8');
    case 'entity.too.large':
      return new ApiError('body_too_large', 'the request body is over the size limit: send a smaller body');
    case 'charset.unsupported':
      return new ApiError('unsupported_media_type', 'the body charset is not supported: send JSON encoded as UTF-8');
    case 'encoding.unsupported':
      return new ApiError(
        'unsupported_media_type',
        'the Content-Encoding is not supported: send the body uncompressed, or gzip, deflate or br',
      );
    case 'request.aborted':
    case 'request.size.invalid':
      return new ApiError('invalid_json', 'the request body ended before its Content-Length: send the whole body');
  }
  const status = httpStatusOf(err);
  if (status !== undefined && status >= 400 && status < 500) {
    // e.g. a path with broken percent-encoding, refused by the router.
    return new ApiError('invalid_field', 'the request is malformed (URL or headers): check the path and its encoding');
  }
  return null;
}

function legacyReplyFor(apiError: ApiError | null): LegacyReply {
  if (apiError === null) return { code: 'unknown_error' };
  if (apiError.code === 'redis_unavailable') return { code: 'server_error' };
  if (INPUT_ERROR_CODES.has(apiError.code)) return { code: 'bad_params' };
  return { code: 'unknown_error' };
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const l = locals(res);
    const apiError = toApiError(err);
    if (apiError === null) {
      logger.error(
        { err, reqId: l.requestId, method: req.method, path: req.originalUrl.split('?')[0] },
        'internal error',
      );
    }
    if (l.legacy) {
      const reply = legacyReplyFor(apiError);
      // Refused before the body was read (too large, cut off): the log says why the reply is error 1.
      if (reply.code === 'bad_params') logLegacyRefusal(logger, res, l.route, null, apiError!.message);
      sendLegacyReply(res, reply);
      return;
    }
    if (res.headersSent) {
      // Too late for a clean answer: close the connection so the caller sees it failed.
      res.destroy();
      return;
    }
    const answer =
      apiError ??
      new ApiError('internal_error', `an internal error occurred: report request id ${l.requestId} to the operator`);
    res.status(answer.status).set(answer.headers).json(answer.body());
  };
}
