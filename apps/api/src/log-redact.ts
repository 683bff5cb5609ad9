/**
 * Log paths that may hold an app key. The API never logs headers or bodies; these are the guard for a
 * line that would (pass them as pino's `redact` when creating the process logger too).
 */
export const LOG_REDACT_PATHS: string[] = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'app_key',
  '*.app_key',
  'body.app_key',
  'req.body.app_key',
];
