/** Pieces many operations share (error lists, a JSON body), so each operation stays short and alike. */
import type { z } from 'zod';
import type { ApiErrorCode } from '../errors.ts';
import type { BodySpec } from './registry.ts';

/** A JSON body: malformed, wrong fields, too big, not JSON. */
export const JSON_BODY_ERRORS = [
  'invalid_json',
  'missing_field',
  'invalid_field',
  'unknown_field',
  'body_too_large',
  'unsupported_media_type',
] as const satisfies readonly ApiErrorCode[];

/** Any operation behind an app key that reads the queue. */
export const APP_AUTH_ERRORS = ['unauthorized', 'redis_unavailable'] as const satisfies readonly ApiErrorCode[];

/** A JSON body whose example is the one in the schema's meta. */
export function json(schema: z.ZodType): BodySpec {
  const example = schema.meta()?.example;
  return { contentType: 'application/json', schema, ...(example !== undefined && { example }) };
}
