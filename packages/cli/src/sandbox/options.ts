/**
 * The options of `ttpush sandbox`, read and checked once from the command line.
 */
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
  --parked-threads N park N of db_proxy's 4 hidden threads (0-4, default 0), as the real server's
                     bug does under concurrent group sends: about N in 4 requests never answered
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
  return {
    host: values.host,
    dbPort: parsePort(values['db-port'], '--db-port'),
    routePort: parsePort(values['route-port'], '--route-port'),
    msgPort: parsePort(values['msg-port'], '--msg-port'),
    aesKey,
    groupsFile: values.groups,
    reorderDelayMs: parseInteger(values['reorder-ms'], '--reorder-ms', { min: 0, max: 60_000 }),
    realistic: values.realistic,
    parkedThreads: parseInteger(values['parked-threads'], '--parked-threads', { min: 0, max: 4 }),
    logLevel,
    json: values.json,
  };
}

function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}
