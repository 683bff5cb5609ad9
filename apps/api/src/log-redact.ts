/**
 * Log paths that may hold a secret. The API never logs headers or bodies; these are the guard for a
 * line that would. A pino child's `redact` replaces its parent's, so the process logger's paths
 * (@ttpush/config REDACT_PATHS: the AES key too) are kept in the list.
 */
import { REDACT_PATHS } from '@ttpush/config';

export const LOG_REDACT_PATHS: string[] = [
  ...new Set([
    ...REDACT_PATHS,
    'authorization',
    'headers.authorization',
    'req.headers.authorization',
    'app_key',
    '*.app_key',
    'body.app_key',
    'req.body.app_key',
    'secret',
    '*.secret',
  ]),
];
