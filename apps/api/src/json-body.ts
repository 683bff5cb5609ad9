/** The JSON body of /v1: application/json only (415 otherwise), UTF-8 only, at most config.http.bodyLimitBytes. */
import express, { type RequestHandler } from 'express';
import { isUtf8 } from 'node:buffer';
import { ApiError } from './errors.ts';

function isJsonType(header: string | undefined): boolean {
  const type = (header ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

export function requireJsonType(): RequestHandler {
  return (req, _res, next) => {
    if (!isJsonType(req.headers['content-type'])) {
      throw new ApiError(
        'unsupported_media_type',
        'the request body must be JSON: send it with "Content-Type: application/json"',
      );
    }
    next();
  };
}

export function jsonBody(limitBytes: number): RequestHandler {
  return express.json({
    limit: limitBytes,
    // Scalars and arrays are let through to validation, which names what was wrong.
    strict: false,
    type: () => true,
    verify: (_req, _res, buf) => {
      // body-parser would replace invalid UTF-8 with U+FFFD and send a corrupted text.
      if (!isUtf8(buf)) throw Object.assign(new Error('body is not UTF-8'), { type: 'utf8.invalid' });
    },
  });
}
