/**
 * The structured logger (pino, JSON lines on stdout; with format 'pretty', one readable line per entry through
 * pino-pretty). Secrets are redacted by path wherever they could appear: authorization headers, app keys in
 * legacy bodies, the AES key.
 */
import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';

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

export type LogFormat = 'json' | 'pretty';

type PrettyFactory = (options: Record<string, unknown>) => DestinationStream;

const require = createRequire(import.meta.url);

/**
 * pino-pretty, loaded only when asked for, so a JSON-logging process never loads it. When it cannot be loaded
 * (an install without it) the logger falls back to JSON and says so once on stderr.
 */
function prettyStream(): DestinationStream | undefined {
  let factory: PrettyFactory;
  try {
    const mod = require('pino-pretty') as PrettyFactory | { default: PrettyFactory };
    factory = typeof mod === 'function' ? mod : mod.default;
  } catch (err) {
    process.stderr.write(
      `ttpush: TTPUSH_LOG_FORMAT=pretty but pino-pretty cannot be loaded (${(err as Error).message.split('\n')[0]}): logging JSON\n`,
    );
    return undefined;
  }
  return factory({
    // Synchronous writes: a line logged right before process.exit() is not lost.
    sync: true,
    colorize: process.stdout.isTTY === true,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
  });
}

export function createLogger(level: string, name: string, format: LogFormat = 'json'): Logger {
  const options = { level, name, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  const pretty = format === 'pretty' ? prettyStream() : undefined;
  return pretty ? pino(options, pretty) : pino(options);
}
