/**
 * The JSON body of /v1: application/json only (415 otherwise), UTF-8 only (a declared charset other than UTF-8 is
 * 415, bytes that are not UTF-8 are 400 invalid_json), at most config.http.bodyLimitBytes, nested at most
 * MAX_JSON_DEPTH levels and well-formed Unicode in every string (400 invalid_field naming the field, json-shape.ts).
 */
import express, { type RequestHandler } from 'express';
import { isUtf8 } from 'node:buffer';
import { ApiError } from './errors.ts';
import { assertJsonShape } from './json-shape.ts';

function isJsonType(header: string | undefined): boolean {
  const type = (header ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/** The charset parameter of a Content-Type, lower-cased and unquoted; undefined when there is none. */
function charsetOf(header: string | undefined): string | undefined {
  for (const param of (header ?? '').split(';').slice(1)) {
    const eq = param.indexOf('=');
    if (eq === -1) continue;
    if (param.slice(0, eq).trim().toLowerCase() !== 'charset') continue;
    return param
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1')
      .toLowerCase();
  }
  return undefined;
}

/** A body declared in another charset than UTF-8 is refused before it is read: 415, as for a body that is not JSON. */
export function assertUtf8Charset(header: string | undefined): void {
  const charset = charsetOf(header);
  if (charset === undefined || charset === 'utf-8' || charset === 'utf8') return;
  throw new ApiError(
    'unsupported_media_type',
    `the body is declared as charset=${charset.slice(0, 40)}: ttpush reads UTF-8 only; send it encoded as UTF-8, with charset=utf-8 or no charset`,
  );
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
  const parse = express.json({
    limit: limitBytes,
    // Scalars and arrays are let through to validation, which names what was wrong.
    strict: false,
    type: () => true,
    verify: (_req, _res, buf) => {
      // body-parser would replace invalid UTF-8 with U+FFFD and send a corrupted text.
      if (!isUtf8(buf)) throw Object.assign(new Error('body is not UTF-8'), { type: 'utf8.invalid' });
    },
  });
  return (req, res, next) => {
    assertUtf8Charset(req.headers['content-type']);
    parse(req, res, (err?: unknown) => {
      if (err) return next(err);
      try {
        // JSON.parse does not recurse; everything after it may: the shape is checked first.
        if (req.body !== undefined) assertJsonShape(req.body);
      } catch (shapeErr) {
        return next(shapeErr);
      }
      next();
    });
  };
}
