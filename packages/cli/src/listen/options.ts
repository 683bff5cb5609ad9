/**
 * The options of `ttpush listen`, read and checked once from the command line.
 */
import { parseFlags, parseHostPort, parseInteger, parseSeconds, required, UsageError } from '../args.ts';

/** The stock TeamTalk aesKey: public (it ships in every stock config), for tests only. */
export const STOCK_AES_KEY = '12345678901234567890123456789012';

export const listenUsage = `usage: ttpush listen --server HOST:PORT --user NAME --password P [options]

Logs a user into a TeamTalk msg_server (the sandbox or a real one) and prints every message
it receives, decrypted, as one JSON line on stdout:
  {"from":1,"to":2,"session_type":"single","msg_id":7,"create_time":1700000000,"text":"hi"}
A text that does not decrypt is printed with "text": null and an "error" field.
Each message is acknowledged (MSG_DATA_ACK); a heartbeat is sent every 5 s.
Diagnostics go to stderr.

options:
  --server HOST:PORT   the msg_server to log into (required)
  --user NAME          the user name to log in as (required); stock servers use the user id
  --password P         the plain password (required); it is sent as its MD5 hex, as stock clients do
  --aes-key K          the servers' 32-character aesKey (default: the stock key
                       12345678901234567890123456789012, which is public: for tests only)
  --count N            exit after N messages
  --timeout S          give up after S seconds (fractions allowed)
  -h, --help           show this help

exit codes:
  0  N messages arrived (--count N), or --timeout ran out without --count,
     or SIGINT/SIGTERM without --count
  1  --count N was given and fewer than N arrived before --timeout (or a signal)
  2  cannot connect or log in, the server closed the connection or broke the framing,
     or bad arguments`;

export interface ListenOptions {
  readonly host: string;
  readonly port: number;
  readonly userName: string;
  readonly password: string;
  readonly aesKey: string;
  /** Exit after this many messages; undefined: no limit. */
  readonly count: number | undefined;
  /** Overall time limit in ms; undefined: none. */
  readonly timeoutMs: number | undefined;
}

/** Parsed options, or 'help' when --help was asked for. Throws {@link UsageError}. */
export function parseListenArgs(argv: string[]): ListenOptions | 'help' {
  const values = parseFlags(argv, {
    server: { type: 'string' },
    user: { type: 'string' },
    password: { type: 'string' },
    'aes-key': { type: 'string' },
    count: { type: 'string' },
    timeout: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return 'help';
  const { host, port } = parseHostPort(required(values.server, '--server'), '--server');
  const userName = required(values.user, '--user');
  if (values.password === undefined) throw new UsageError('--password is required');
  const aesKey = values['aes-key'] ?? STOCK_AES_KEY;
  if (Buffer.byteLength(aesKey, 'utf8') !== 32) {
    // The key itself is never echoed: it may be a real deployment's secret.
    throw new UsageError(`--aes-key must be exactly 32 bytes (the servers' aesKey), got ${aesKey.length} characters`);
  }
  return {
    host,
    port,
    userName,
    password: values.password,
    aesKey,
    count: values.count === undefined ? undefined : parseInteger(values.count, '--count', { min: 1 }),
    timeoutMs: values.timeout === undefined ? undefined : parseSeconds(values.timeout, '--timeout'),
  };
}
