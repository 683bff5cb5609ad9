/** The body of every 4xx/5xx answer on /v1: {"error": {code, message, field}}, sometimes with a resource beside it. */
import { z } from 'zod';
import { ERROR_STATUS, type ApiErrorCode } from '../errors.ts';

const CODES = Object.keys(ERROR_STATUS) as [ApiErrorCode, ...ApiErrorCode[]];

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.enum(CODES).meta({ description: 'Stable: branch on it (never on message).' }),
      message: z.string().meta({ description: 'A sentence naming the field and the fix.' }),
      field: z
        .string()
        .nullable()
        .meta({ description: 'The field, query parameter or header at fault (e.g. to.user), or null.' }),
    }),
  })
  // Some refusals carry the resource as it is now (message, batch) or where it failed (line, index).
  .catchall(z.unknown())
  .meta({
    id: 'Error',
    description:
      'Every refusal on /v1. Beside `error` may stand the resource as it is now or the line / index at fault.',
    example: { error: { code: 'missing_field', message: 'from is missing: give it as a JSON integer', field: 'from' } },
  });
