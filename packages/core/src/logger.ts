/**
 * The structured logger (pino, JSON lines on stdout). Secrets are redacted by path wherever they could
 * appear: authorization headers, app keys in legacy bodies, the AES key.
 */
import { pino, type Logger } from 'pino';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  'app_key',
  'body.app_key',
  'aesKey',
  'config.aesKey',
  'key',
  'devAppKey',
];

export function createLogger(level: string, name: string): Logger {
  return pino({ level, name, redact: { paths: REDACT_PATHS, censor: '[redacted]' } });
}
