/**
 * The options of `ttpush sandbox`, read and checked once from the command line.
 */
import { parseMsRange } from '@ttpush/config';
import { parseFlags, parseInteger, parsePort, UsageError } from '../args.ts';
import { STOCK_AES_KEY } from '../listen/options.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const sandboxUsage = `usage: ttpush sandbox [options]

Runs sandbox TeamTalk servers (db_proxy_server, route_server, msg_server) that speak the
real wire protocol, in memory, and prints where they listen. SIGINT/SIGTERM stops them.

options:
  --host H           address to listen on (default 127.0.0.1)
  --db-port P        db_proxy_server port (default 10600; 0: any free port)
  --route-port P     route_server port (default 8200; 0: any free port)
  --msg-port P       msg_server port for clients (default 8000; 0: any free port)
  --aes-key K        the 32-character aesKey, only so the debug log can show decrypted texts
                     (default: the stock key, which is public: for tests only); never printed
  --groups FILE      JSON file of groups and their members: {"<group id>": [user ids], ...}
  --reorder-ms N     delay db_proxy replies by up to N ms so they come back out of order,
                     as the real server's thread pool does (default 0)
  --realistic        behave like the real servers where they are sloppy (see the sandbox docs)
  --parked-threads N park N of db_proxy's 4 hidden threads (0-4, default 0; with --db-pool, of its
                     --db-threads), as the real server's bug does under concurrent group sends: about
                     N in 4 requests never answered
  --db-pool          db_proxy answers through a pool of worker threads, as the real server does: each
                     free thread takes a random queued request and holds it for a store time, so
                     replies come back in completion order (not with --realistic)
  --db-threads N     --db-pool's worker threads (1-64, default 4)
  --db-store-ms R    --db-pool's store time of one request in ms: MIN-MAX, uniform, or one number
                     (default 0.3-3)
  --db-max-rate N    --db-pool's ceiling over all threads, requests per second (default 0: none)
  --log-level L      ${LOG_LEVELS.join(', ')} (default info); logs go to stderr
  --json             also print a one-line JSON summary of the addresses, for scripts
  -h, --help         show this help

exit codes: 0 stopped by SIGINT/SIGTERM; 2 bad arguments, a bad --groups file, or a port in use`;

export interface SandboxCommandOptions {
  readonly host: string;
  readonly dbPort: number;
  readonly routePort: number;
  readonly msgPort: number;
  readonly aesKey: string;
  readonly groupsFile: string | undefined;
  readonly reorderDelayMs: number;
  readonly realistic: boolean;
  /** db_proxy threads parked for ever, of 4 (notes §10). */
  readonly parkedThreads: number;
  /** db_proxy's thread-pool mode (--db-pool), or undefined for answers at once. */
  readonly dbThreadPool: { threads: number; storeMs: { min: number; max: number }; maxPerSecond: number } | undefined;
  readonly logLevel: LogLevel;
  readonly json: boolean;
}

/** Parsed options, or 'help'. Throws {@link UsageError}. */
export function parseSandboxArgs(argv: string[]): SandboxCommandOptions | 'help' {
  const values = parseFlags(argv, {
    host: { type: 'string', default: '127.0.0.1' },
    'db-port': { type: 'string', default: '10600' },
    'route-port': { type: 'string', default: '8200' },
    'msg-port': { type: 'string', default: '8000' },
    'aes-key': { type: 'string' },
    groups: { type: 'string' },
    'reorder-ms': { type: 'string', default: '0' },
    realistic: { type: 'boolean', default: false },
    'parked-threads': { type: 'string', default: '0' },
    'db-pool': { type: 'boolean', default: false },
    'db-threads': { type: 'string', default: '4' },
    'db-store-ms': { type: 'string', default: '0.3-3' },
    'db-max-rate': { type: 'string', default: '0' },
    'log-level': { type: 'string', default: 'info' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return 'help';
  const aesKey = values['aes-key'] ?? STOCK_AES_KEY;
  if (Buffer.byteLength(aesKey, 'utf8') !== 32) {
    // The key itself is never echoed.
    throw new UsageError(`--aes-key must be exactly 32 bytes (the servers' aesKey), got ${aesKey.length} characters`);
  }
  const logLevel = values['log-level'];
  if (!isLogLevel(logLevel)) {
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${logLevel}'`);
  }
  if (values.host === '') throw new UsageError('--host must not be empty');
  const threads = parseInteger(values['db-threads'], '--db-threads', { min: 1, max: 64 });
  const storeMs = parseMsRange(values['db-store-ms']);
  if (!storeMs) {
    throw new UsageError(`--db-store-ms must be MIN-MAX in ms (MIN ≤ MAX ≤ 60000), got '${values['db-store-ms']}'`);
  }
  const maxPerSecond = parseInteger(values['db-max-rate'], '--db-max-rate', { min: 0, max: 10_000_000 });
  const dbPool = values['db-pool'];
  if (dbPool && values.realistic) throw new UsageError('--db-pool and --realistic exclude each other');
  return {
    host: values.host,
    dbPort: parsePort(values['db-port'], '--db-port'),
    routePort: parsePort(values['route-port'], '--route-port'),
    msgPort: parsePort(values['msg-port'], '--msg-port'),
    aesKey,
    groupsFile: values.groups,
    reorderDelayMs: parseInteger(values['reorder-ms'], '--reorder-ms', { min: 0, max: 60_000 }),
    realistic: values.realistic,
    parkedThreads: parseInteger(values['parked-threads'], '--parked-threads', { min: 0, max: dbPool ? threads : 4 }),
    dbThreadPool: dbPool ? { threads, storeMs, maxPerSecond } : undefined,
    logLevel,
    json: values.json,
  };
}

function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}
