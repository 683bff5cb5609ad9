/**
 * ttpush configuration: read and validated once, at boot, from environment variables and an
 * optional JSON file (TTPUSH_CONFIG_FILE, whose keys are the same variable names). Nothing else in
 * ttpush reads process.env. A bad value throws a ConfigError naming the variable and the fix.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CONFIG_INVALID';
}

export interface Address {
  host: string;
  port: number;
}

export interface AppKey {
  /** A name for logs and metrics; never the secret. */
  name: string;
  /** The secret the caller presents. */
  key: string;
  /** Sender user ids this key may send as, or '*' for any. */
  senders: number[] | '*';
  /** Messages per second this app may send (a token bucket, burst = the limit); absent: unlimited. */
  rateLimit?: number;
  /** The lane of this key's messages and batches when a request names no `priority`; absent: normal. */
  priority?: 'high' | 'normal' | 'low';
}

export interface Config {
  http: { host: string; port: number; bodyLimitBytes: number };
  /** Unset: `ttpush start` runs a private redis-server. */
  redisUrl: string | undefined;
  redisPrefix: string;
  /** TTPUSH_REDIS_CLUSTER_NODES: seed nodes of a Redis Cluster; when set, used instead of redisUrl. */
  redisClusterNodes: Address[];
  /** TTPUSH_REDIS_PARTITIONS: conversations spread over this many partitions (hash tags, queues). */
  redisPartitions: number;
  /** Both unset: `ttpush start` runs the sandbox TeamTalk. */
  dbProxyAddrs: Address[];
  routeAddrs: Address[];
  /** The TeamTalk servers' 32-character aesKey. */
  aesKey: string;
  aesKeyIsStockDefault: boolean;
  appKeys: AppKey[];
  devAppKey: string | undefined;
  /** The operators' key for /console, the queue dashboard and admin endpoints; unset: those answer 403 admin_disabled. */
  adminKey: string | undefined;
  /**
   * Who may read /metrics (it names apps, hosts and TeamTalk addresses): `token` (TTPUSH_METRICS_TOKEN) requires
   * `Authorization: Bearer <token>`; `port` (TTPUSH_METRICS_PORT) serves /metrics on a listener of its own, and the
   * API port no longer does. Both unset: /metrics is open on the API port.
   */
  metrics: { token: string | undefined; port: number | undefined };
  /** Messages per second of the development key; unset: unlimited. */
  devRateLimit: number | undefined;
  maxContentBytes: number;
  legacyWaitMs: number;
  teamtalk: {
    replyTimeoutMs: number;
    /** After a store without reply: how long db_proxy must answer again before an absent message is resent. */
    settleMs: number;
    dbProxyConnections: number;
    maxInFlight: number;
    connectTimeoutMs: number;
    /** Messages per second towards db_proxy_server over all workers; 0: unlimited. */
    maxRate: number;
    /** Requests in flight towards db_proxy_server over all workers; 0: only the per-connection window. */
    maxInFlightTotal: number;
  };
  worker: { concurrency: number; maxMessageAgeMs: number; lockMs: number };
  /** How long a message record is kept once terminal (sent, failed, cancelled). */
  recordTtlMs: number;
  /** Limits of one batch upload (NDJSON streamed, or JSON): refused with a 4xx when passed. */
  upload: {
    /** Bytes of the body after decompression. */
    maxBytes: number;
    /** Lines of an NDJSON body, blank lines included. */
    maxLines: number;
    /** Time from the first byte to the end of the upload. */
    timeoutMs: number;
  };
  webhooks: {
    /** Connect + response time of one delivery attempt. */
    timeoutMs: number;
    /** Waits before each retry (ms), before ±20% jitter; after the last, a delivery is dead. */
    retryScheduleMs: number[];
    /** An endpoint whose deliveries fail without a success for this long is disabled. */
    disableAfterMs: number;
    /** CIDRs that endpoint URLs may resolve to although private, loopback or link-local. */
    allowedNetworks: string[];
    /** Attempts in flight per endpoint over all workers. */
    endpointConcurrency: number;
    /** Attempts in flight per worker, over all endpoints (apart from the send path's concurrency). */
    workerConcurrency: number;
  };
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** TTPUSH_LOG_FORMAT: JSON lines, or pino-pretty's one readable line per entry (default: pretty on a terminal). */
  logFormat: 'json' | 'pretty';
  /** TTPUSH_DATA_DIR: the folder of `ttpush start` (its lock, kept keys and the private Redis's data), as given. */
  dataDir: string;
  /** TTPUSH_SANDBOX_PORTS: the sandbox TeamTalk's ports under `ttpush start`; 0 takes a free one. */
  sandboxPorts: { db: number; route: number; msg: number };
  /**
   * TTPUSH_SANDBOX_DBPROXY and its settings: how the sandbox db_proxy under `ttpush start` answers. undefined: at once
   * (the default); else through a pool of worker threads like the real server.
   */
  sandboxDbPool: SandboxDbPool | undefined;
  embedded: { redis: boolean; teamtalk: boolean };
}

export interface SandboxDbPool {
  threads: number;
  /** Store time of one request, in ms: uniformly in [min, max]. */
  storeMs: { min: number; max: number };
  /** Requests per second over all threads; 0: no ceiling but the threads'. */
  maxPerSecond: number;
}

/** The public stock key of TeamTalk's sample configs: fine for tests, never for production. */
export const STOCK_AES_KEY = '12345678901234567890123456789012';

/** The variables ttpush reads, with their defaults and meaning (the README's table is made from this). */
export const VARIABLES = {
  TTPUSH_CONFIG_FILE: ['', 'optional JSON file whose keys are these variable names; the environment wins'],
  TTPUSH_HTTP_PORT: ['8400', 'HTTP port of the API (/v1 and the legacy /query on the same port)'],
  TTPUSH_HTTP_HOST: ['127.0.0.1 when embedded, else 0.0.0.0', 'address the API listens on'],
  TTPUSH_BODY_LIMIT_BYTES: ['65536', 'largest JSON request body'],
  TTPUSH_REDIS_URL: ['unset: a private redis-server', 'Redis URL, e.g. redis://127.0.0.1:6379/0'],
  TTPUSH_REDIS_PREFIX: ['ttp', 'prefix of every Redis key and queue'],
  TTPUSH_REDIS_CLUSTER_NODES: [
    'unset: one Redis (TTPUSH_REDIS_URL)',
    'Redis Cluster seed nodes, comma-separated host:port; when set, used instead of TTPUSH_REDIS_URL',
  ],
  TTPUSH_REDIS_PARTITIONS: [
    '1 on one Redis, 8 on a cluster',
    'partitions (1-36) conversations and queues are spread over, each on one cluster slot; never change it while messages are queued',
  ],
  TTPUSH_DB_PROXY_ADDRS: ['unset: the sandbox', 'db_proxy_server addresses, comma-separated host:port'],
  TTPUSH_ROUTE_ADDRS: ['unset: the sandbox', 'route_server addresses, comma-separated host:port'],
  TTPUSH_AES_KEY: ['the public stock key', "the TeamTalk servers' 32-character aesKey"],
  TTPUSH_APP_KEYS_FILE: ['unset', 'JSON file of app keys and the sender ids each may use'],
  TTPUSH_DEV_APP_KEY: [
    'unset (ttpush start: made once, kept in TTPUSH_DATA_DIR/keys.json)',
    'a development key that may do everything',
  ],
  TTPUSH_ADMIN_KEY: [
    'unset (ttpush start: made once, kept in TTPUSH_DATA_DIR/keys.json)',
    'operator key for /console, /admin/queues and admin endpoints (16+ characters); unset: they are off',
  ],
  TTPUSH_METRICS_TOKEN: [
    'unset: /metrics needs no token',
    'a token of 16+ characters /metrics then requires as "Authorization: Bearer <token>" (401 without it)',
  ],
  TTPUSH_METRICS_PORT: [
    'unset: /metrics on the API port',
    'serve /metrics on this port only (on TTPUSH_HTTP_HOST), not on the API port: keep it on a network only Prometheus reaches',
  ],
  TTPUSH_DEV_RATE_LIMIT: ['unset: unlimited', 'messages per second the development key may send'],
  TTPUSH_MAX_CONTENT_BYTES: ['3068', 'largest message text in UTF-8 bytes (TeamTalk column varchar(4096))'],
  TTPUSH_LEGACY_WAIT_MS: ['10000', 'how long /query/Send* waits for the msg_id before error 10'],
  TTPUSH_TEAMTALK_REPLY_TIMEOUT_MS: [
    '5000',
    'a db_proxy request with no reply after this is read back (and resent once db_proxy has settled)',
  ],
  TTPUSH_TEAMTALK_SETTLE_MS: [
    '5000',
    'after a store without reply, db_proxy must answer again for this long before a message read back absent is resent',
  ],
  TTPUSH_DB_PROXY_CONNECTIONS: ['2', 'connections per db_proxy_server per worker'],
  TTPUSH_TEAMTALK_MAX_IN_FLIGHT: ['4096', 'requests in flight per db_proxy connection'],
  TTPUSH_TEAMTALK_CONNECT_TIMEOUT_MS: ['5000', 'TCP connect timeout towards TeamTalk'],
  TTPUSH_TEAMTALK_MAX_RATE: ['0', 'messages per second towards db_proxy_server over all workers (0: unlimited)'],
  TTPUSH_TEAMTALK_MAX_IN_FLIGHT_TOTAL: [
    '0',
    'requests in flight towards db_proxy_server over all workers, shared evenly (0: only the per-connection window)',
  ],
  TTPUSH_WORKER_CONCURRENCY: ['256', 'conversations a worker sends in parallel'],
  TTPUSH_MAX_MESSAGE_AGE_MS: [
    '3600000',
    'a message TeamTalk could not take for this long fails as teamtalk_unavailable',
  ],
  TTPUSH_WORKER_LOCK_MS: ['10000', 'how long a dead worker holds a conversation before another takes it over'],
  TTPUSH_RECORD_TTL: [
    '7d',
    "how long a finished message (sent, failed, cancelled) or batch (completed, cancelled) is kept for GET; a message's text is dropped from Redis at once (units ms, s, m, h, d)",
  ],
  TTPUSH_UPLOAD_MAX_BYTES: [
    '1073741824',
    'largest batch upload in bytes after gzip decompression (413 body_too_large)',
  ],
  TTPUSH_UPLOAD_MAX_LINES: [
    '11000000',
    'most lines of an NDJSON batch upload, blank lines included (413 too_many_lines)',
  ],
  TTPUSH_UPLOAD_TIMEOUT: ['5m', 'longest time a batch upload may take to arrive and be checked (408 upload_timeout)'],
  TTPUSH_WEBHOOK_TIMEOUT_MS: ['10000', 'connect + response time of one webhook delivery attempt'],
  TTPUSH_WEBHOOK_RETRY_SCHEDULE: [
    '5s,30s,2m,10m,30m,1h,2h,4h,8h,8h',
    'waits before each webhook retry (±20% jitter; units ms, s, m, h, d); after the last the delivery is dead',
  ],
  TTPUSH_WEBHOOK_DISABLE_AFTER: ['5d', 'a webhook endpoint failing without a success for this long is disabled'],
  TTPUSH_WEBHOOK_ALLOWED_NETWORKS: [
    'unset: none',
    'CIDRs webhook URLs may reach although private, loopback or link-local, comma-separated (e.g. 127.0.0.1/32)',
  ],
  TTPUSH_WEBHOOK_ENDPOINT_CONCURRENCY: ['4', 'webhook attempts in flight per endpoint, over all workers'],
  TTPUSH_WEBHOOK_WORKER_CONCURRENCY: ['64', 'webhook attempts in flight per worker, over all endpoints'],
  TTPUSH_LOG_LEVEL: ['info', 'fatal, error, warn, info, debug, trace or silent'],
  TTPUSH_LOG_FORMAT: [
    'pretty when stdout is a terminal, else json',
    'json (one JSON object a line) or pretty (one readable line per entry, for people)',
  ],
  TTPUSH_DATA_DIR: [
    '.ttpush',
    "folder of `ttpush start`: its lock (one ttpush per folder), the kept development and admin keys (keys.json) and the private redis-server's data",
  ],
  TTPUSH_SANDBOX_PORTS: [
    '10600,8200,8000',
    'db_proxy,route,msg_server ports of the sandbox TeamTalk that `ttpush start` runs (0: a free port)',
  ],
  TTPUSH_SANDBOX_DBPROXY: [
    'fast',
    "how that sandbox's db_proxy answers: fast (at once) or pool (a pool of worker threads like the real server's, each free thread taking a random queued request for a store time: replies out of order, a few ms each)",
  ],
  TTPUSH_SANDBOX_DB_THREADS: ['4', 'pool mode: worker threads of the sandbox db_proxy (1 to 64)'],
  TTPUSH_SANDBOX_DB_STORE_MS: [
    '0.3-3',
    'pool mode: store time of one request in ms, MIN-MAX (uniform) or one number (e.g. 0.3-3, 2)',
  ],
  TTPUSH_SANDBOX_DB_MAX_RATE: ['0', 'pool mode: ceiling over all threads in requests per second (0: none)'],
} as const satisfies Record<string, readonly [string, string]>;

type VarName = keyof typeof VARIABLES;
type Source = Partial<Record<string, string | undefined>>;

function fail(name: string, problem: string, fix: string): never {
  throw new ConfigError(`${name} ${problem}: ${fix}`);
}

function int(src: Source, name: VarName, dflt: number, min: number, max: number): number {
  const raw = src[name];
  if (raw === undefined || raw === '') return dflt;
  if (!/^\d+$/.test(raw.trim()))
    fail(name, `is '${raw}', not a whole number`, `set it to an integer from ${min} to ${max}`);
  const n = Number(raw.trim());
  if (n < min || n > max) fail(name, `is ${n}, out of range`, `set it to an integer from ${min} to ${max}`);
  return n;
}

export function parseAddresses(name: string, raw: string): Address[] {
  const parts = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (parts.length === 0) fail(name, 'is empty', 'give one or more host:port, comma-separated');
  return parts.map((p) => {
    const m = /^(.+):(\d{1,5})$/.exec(p);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65535)
      fail(name, `has '${p}', not host:port`, 'write each address as host:port, e.g. 127.0.0.1:10600');
    return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
  });
}

const appKeySchema = z.object({
  name: z.string().min(1).max(100),
  key: z.string().min(16, 'a key must be at least 16 characters').max(200),
  senders: z.union([z.literal('*'), z.array(z.number().int().min(1).max(4294967295))]),
  rate_limit: z
    .number({ message: 'rate_limit must be a number of messages per second' })
    .int('rate_limit must be a whole number of messages per second')
    .min(1, 'rate_limit must be at least 1 message per second')
    .max(10_000_000, 'rate_limit must be at most 10000000 messages per second')
    .optional(),
  // A refinement, not z.enum: a wrong value must not abort the parse, or the union below names no field.
  priority: z
    .string()
    .refine((v) => ['high', 'normal', 'low'].includes(v), 'priority must be "high", "normal" or "low"')
    .transform((v) => v as 'high' | 'normal' | 'low')
    .optional(),
});
const appKeysSchema = z.union([
  z.array(appKeySchema),
  z.object({ keys: z.array(appKeySchema) }).transform((o) => o.keys),
]);

export function loadAppKeysFile(path: string): AppKey[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    fail(
      'TTPUSH_APP_KEYS_FILE',
      `names '${path}', which cannot be read (${(err as NodeJS.ErrnoException).code})`,
      'point it at a readable JSON file',
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    fail(
      'TTPUSH_APP_KEYS_FILE',
      `('${path}') is not valid JSON`,
      'write {"keys": [{"name": "crm", "key": "<secret>", "senders": [1, 2] or "*"}]}',
    );
  }
  const parsed = appKeysSchema.safeParse(json);
  if (!parsed.success) {
    let issue = parsed.error.issues[0]!;
    // A list or {"keys": [...]}: when neither form parses, name the deepest problem rather than "the top level".
    if (issue.code === 'invalid_union') {
      const deepest = issue.errors.flat().sort((a, b) => b.path.length - a.path.length)[0];
      if (deepest) issue = { ...deepest, path: [...issue.path, ...deepest.path] } as typeof issue;
    }
    fail(
      'TTPUSH_APP_KEYS_FILE',
      `('${path}') is invalid at ${issue.path.join('.') || 'the top level'}: ${issue.message}`,
      'each key needs name, key (16+ characters) and senders (a list of user ids, or "*")',
    );
  }
  const keys = parsed.data;
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k.key))
      fail('TTPUSH_APP_KEYS_FILE', `lists the key of '${k.name}' twice`, 'give every app key a distinct secret');
    seen.add(k.key);
  }
  return keys.map(({ rate_limit, ...k }) => (rate_limit === undefined ? k : { ...k, rateLimit: rate_limit }));
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration like 500ms, 5s, 2m, 1h or 5d, in ms; undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,9})(ms|s|m|h|d)$/.exec(text.trim());
  return m ? Number(m[1]) * DURATION_UNITS[m[2]!]! : undefined;
}

function duration(src: Source, name: VarName, dflt: string, minMs: number, maxMs: number): number {
  const raw = src[name]?.trim() || dflt;
  const ms = parseDuration(raw);
  if (ms === undefined || ms < minMs || ms > maxMs) {
    fail(
      name,
      `is '${raw}', not a duration from ${minMs} ms to ${maxMs / 86_400_000} days`,
      'write it like 30s, 2h or 5d',
    );
  }
  return ms;
}

function retrySchedule(src: Source): number[] {
  const raw = src.TTPUSH_WEBHOOK_RETRY_SCHEDULE?.trim() || '5s,30s,2m,10m,30m,1h,2h,4h,8h,8h';
  const parts = raw.split(',').map((p) => p.trim());
  const out = parts.map((p) => parseDuration(p));
  if (parts.length > 50 || out.some((ms) => ms === undefined || ms < 1 || ms > 7 * 86_400_000)) {
    fail(
      'TTPUSH_WEBHOOK_RETRY_SCHEDULE',
      `is '${raw}'`,
      'give up to 50 comma-separated waits of at most 7 days each, like 5s,30s,2m,1h',
    );
  }
  return out as number[];
}

function networks(src: Source): string[] {
  const raw = src.TTPUSH_WEBHOOK_ALLOWED_NETWORKS?.trim();
  if (!raw) return [];
  return raw.split(',').map((p) => {
    const cidr = p.trim();
    const m = /^([0-9a-fA-F:.]+)\/(\d{1,3})$/.exec(cidr);
    const family = m ? isIP(m[1]!) : 0;
    if (!m || family === 0 || Number(m[2]) > (family === 4 ? 32 : 128)) {
      fail(
        'TTPUSH_WEBHOOK_ALLOWED_NETWORKS',
        `has '${cidr}', not a CIDR`,
        'write each range like 127.0.0.1/32 or fd00::/8',
      );
    }
    return cidr;
  });
}

function sandboxPorts(src: Source): Config['sandboxPorts'] {
  const raw = src.TTPUSH_SANDBOX_PORTS?.trim() || '10600,8200,8000';
  const parts = raw.split(',').map((p) => p.trim());
  const ports = parts.map((p) => (/^\d{1,5}$/.test(p) ? Number(p) : NaN));
  if (ports.length !== 3 || ports.some((p) => !(p >= 0 && p <= 65535))) {
    fail(
      'TTPUSH_SANDBOX_PORTS',
      `is '${raw}', not three ports`,
      'give the db_proxy, route and msg_server ports, comma-separated, e.g. 10600,8200,8000 (0: a free port)',
    );
  }
  const nonZero = ports.filter((p) => p !== 0);
  if (new Set(nonZero).size !== nonZero.length)
    fail('TTPUSH_SANDBOX_PORTS', `is '${raw}', a port twice`, 'give three different ports (or 0 for a free one)');
  return { db: ports[0]!, route: ports[1]!, msg: ports[2]! };
}

/** A store-time range in ms, 'MIN-MAX' or one number; undefined when `text` is not one (or MIN > MAX, or > 60 s). */
export function parseMsRange(text: string): { min: number; max: number } | undefined {
  const m = /^(\d+(?:\.\d+)?)(?:\s*-\s*(\d+(?:\.\d+)?))?$/.exec(text.trim());
  if (!m) return undefined;
  const min = Number(m[1]);
  const max = m[2] === undefined ? min : Number(m[2]);
  return min <= max && max <= 60_000 ? { min, max } : undefined;
}

function sandboxDbPool(src: Source): Config['sandboxDbPool'] {
  const mode = src.TTPUSH_SANDBOX_DBPROXY?.trim() || 'fast';
  if (mode !== 'fast' && mode !== 'pool') {
    fail('TTPUSH_SANDBOX_DBPROXY', `is '${mode}'`, 'use fast (answers at once) or pool (a pool of worker threads)');
  }
  const rangeRaw = src.TTPUSH_SANDBOX_DB_STORE_MS?.trim() || '0.3-3';
  const storeMs = parseMsRange(rangeRaw);
  if (!storeMs) {
    fail('TTPUSH_SANDBOX_DB_STORE_MS', `is '${rangeRaw}'`, 'give MIN-MAX in ms, MIN ≤ MAX ≤ 60000, e.g. 0.3-3');
  }
  const pool = {
    threads: int(src, 'TTPUSH_SANDBOX_DB_THREADS', 4, 1, 64),
    storeMs,
    maxPerSecond: int(src, 'TTPUSH_SANDBOX_DB_MAX_RATE', 0, 0, 10_000_000),
  };
  return mode === 'pool' ? pool : undefined;
}

/**
 * Reads the configuration from `env` (default process.env) and the optional TTPUSH_CONFIG_FILE.
 * `stdoutIsTTY` (default: whether process.stdout is a terminal) chooses the log format when TTPUSH_LOG_FORMAT is unset.
 */
export function loadConfig(env: Source = process.env, opts: { stdoutIsTTY?: boolean } = {}): Config {
  let src: Source = { ...env };
  const file = env.TTPUSH_CONFIG_FILE;
  if (file) {
    let fromFile: unknown;
    try {
      fromFile = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      fail(
        'TTPUSH_CONFIG_FILE',
        `('${file}') cannot be read as JSON (${(err as Error).message})`,
        'point it at a JSON object of TTPUSH_* settings',
      );
    }
    if (typeof fromFile !== 'object' || fromFile === null || Array.isArray(fromFile)) {
      fail('TTPUSH_CONFIG_FILE', `('${file}') is not a JSON object`, 'write {"TTPUSH_HTTP_PORT": "8400", ...}');
    }
    for (const k of Object.keys(fromFile)) {
      if (!(k in VARIABLES))
        fail('TTPUSH_CONFIG_FILE', `has unknown setting '${k}'`, `use one of ${Object.keys(VARIABLES).join(', ')}`);
    }
    const strings = Object.fromEntries(Object.entries(fromFile).map(([k, v]) => [k, String(v)]));
    src = { ...strings, ...Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== '')) };
  }

  const dbRaw = src.TTPUSH_DB_PROXY_ADDRS?.trim() || undefined;
  const routeRaw = src.TTPUSH_ROUTE_ADDRS?.trim() || undefined;
  if ((dbRaw === undefined) !== (routeRaw === undefined)) {
    const missing = dbRaw === undefined ? 'TTPUSH_DB_PROXY_ADDRS' : 'TTPUSH_ROUTE_ADDRS';
    fail(
      missing,
      'is unset while the other TeamTalk address list is set',
      'set both TTPUSH_DB_PROXY_ADDRS and TTPUSH_ROUTE_ADDRS, or neither (to run the sandbox)',
    );
  }
  const embeddedTeamtalk = dbRaw === undefined;
  const redisUrl = src.TTPUSH_REDIS_URL?.trim() || undefined;
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    fail('TTPUSH_REDIS_URL', `is '${redisUrl.replace(/\/\/[^@]*@/, '//***@')}'`, 'write a redis:// or rediss:// URL');
  }
  const clusterRaw = src.TTPUSH_REDIS_CLUSTER_NODES?.trim() || undefined;
  const redisClusterNodes = clusterRaw ? parseAddresses('TTPUSH_REDIS_CLUSTER_NODES', clusterRaw) : [];
  const embedded = { redis: redisUrl === undefined && redisClusterNodes.length === 0, teamtalk: embeddedTeamtalk };

  const aesKey = src.TTPUSH_AES_KEY ?? STOCK_AES_KEY;
  if (Buffer.byteLength(aesKey, 'utf8') !== 32) {
    fail(
      'TTPUSH_AES_KEY',
      `is ${Buffer.byteLength(aesKey, 'utf8')} bytes long`,
      "set it to the TeamTalk servers' 32-character aesKey",
    );
  }

  const logLevel = (src.TTPUSH_LOG_LEVEL ?? 'info') as Config['logLevel'];
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    fail('TTPUSH_LOG_LEVEL', `is '${logLevel}'`, 'use fatal, error, warn, info, debug, trace or silent');
  }

  const formatRaw = src.TTPUSH_LOG_FORMAT?.trim() || undefined;
  if (formatRaw !== undefined && formatRaw !== 'json' && formatRaw !== 'pretty') {
    fail('TTPUSH_LOG_FORMAT', `is '${formatRaw}'`, 'use json or pretty (unset: pretty when stdout is a terminal)');
  }
  const logFormat = formatRaw ?? ((opts.stdoutIsTTY ?? process.stdout.isTTY === true) ? 'pretty' : 'json');
  const dataDir = src.TTPUSH_DATA_DIR?.trim() || '.ttpush';

  const devAppKey = src.TTPUSH_DEV_APP_KEY?.trim() || undefined;
  if (devAppKey !== undefined && devAppKey.length < 8) {
    fail('TTPUSH_DEV_APP_KEY', 'is shorter than 8 characters', 'use a longer development key');
  }
  const adminKey = src.TTPUSH_ADMIN_KEY?.trim() || undefined;
  if (adminKey !== undefined && adminKey.length < 16) {
    fail('TTPUSH_ADMIN_KEY', 'is shorter than 16 characters', 'use a random key of 16 characters or more');
  }
  const metricsToken = src.TTPUSH_METRICS_TOKEN?.trim() || undefined;
  if (metricsToken !== undefined && (metricsToken.length < 16 || /\s/.test(metricsToken))) {
    fail(
      'TTPUSH_METRICS_TOKEN',
      'is shorter than 16 characters or has a space',
      'use a random token of 16+ characters',
    );
  }
  const metricsPort = src.TTPUSH_METRICS_PORT?.trim() ? int(src, 'TTPUSH_METRICS_PORT', 0, 0, 65535) : undefined;
  if (metricsPort !== undefined && metricsPort !== 0 && metricsPort === int(src, 'TTPUSH_HTTP_PORT', 8400, 0, 65535)) {
    fail('TTPUSH_METRICS_PORT', `is ${metricsPort}, the API port`, 'give /metrics a port of its own, or unset it');
  }
  const appKeys = src.TTPUSH_APP_KEYS_FILE ? loadAppKeysFile(src.TTPUSH_APP_KEYS_FILE) : [];
  const prefix = src.TTPUSH_REDIS_PREFIX ?? 'ttp';
  if (!/^[A-Za-z0-9_.-]{1,32}$/.test(prefix))
    fail('TTPUSH_REDIS_PREFIX', `is '${prefix}'`, 'use 1-32 letters, digits, _ . or -');

  return {
    http: {
      host: src.TTPUSH_HTTP_HOST?.trim() || (embedded.redis || embedded.teamtalk ? '127.0.0.1' : '0.0.0.0'),
      port: int(src, 'TTPUSH_HTTP_PORT', 8400, 0, 65535),
      bodyLimitBytes: int(src, 'TTPUSH_BODY_LIMIT_BYTES', 65536, 1024, 16 * 1024 * 1024),
    },
    redisUrl,
    redisPrefix: prefix,
    redisClusterNodes,
    // On one Redis, partitions only add queues for every worker to poll (single sends measured ~18 % slower with 8).
    redisPartitions: int(src, 'TTPUSH_REDIS_PARTITIONS', redisClusterNodes.length > 0 ? 8 : 1, 1, 36),
    dbProxyAddrs: dbRaw ? parseAddresses('TTPUSH_DB_PROXY_ADDRS', dbRaw) : [],
    routeAddrs: routeRaw ? parseAddresses('TTPUSH_ROUTE_ADDRS', routeRaw) : [],
    aesKey,
    aesKeyIsStockDefault: aesKey === STOCK_AES_KEY,
    appKeys,
    devAppKey,
    adminKey,
    metrics: { token: metricsToken, port: metricsPort },
    devRateLimit: src.TTPUSH_DEV_RATE_LIMIT ? int(src, 'TTPUSH_DEV_RATE_LIMIT', 0, 1, 10_000_000) : undefined,
    maxContentBytes: int(src, 'TTPUSH_MAX_CONTENT_BYTES', 3068, 1, 1024 * 1024),
    legacyWaitMs: int(src, 'TTPUSH_LEGACY_WAIT_MS', 10_000, 100, 120_000),
    teamtalk: {
      replyTimeoutMs: int(src, 'TTPUSH_TEAMTALK_REPLY_TIMEOUT_MS', 5000, 50, 600_000),
      settleMs: int(src, 'TTPUSH_TEAMTALK_SETTLE_MS', 5000, 0, 600_000),
      dbProxyConnections: int(src, 'TTPUSH_DB_PROXY_CONNECTIONS', 2, 1, 64),
      maxInFlight: int(src, 'TTPUSH_TEAMTALK_MAX_IN_FLIGHT', 4096, 1, 1_000_000),
      connectTimeoutMs: int(src, 'TTPUSH_TEAMTALK_CONNECT_TIMEOUT_MS', 5000, 50, 600_000),
      maxRate: int(src, 'TTPUSH_TEAMTALK_MAX_RATE', 0, 0, 10_000_000),
      maxInFlightTotal: int(src, 'TTPUSH_TEAMTALK_MAX_IN_FLIGHT_TOTAL', 0, 0, 10_000_000),
    },
    worker: {
      concurrency: int(src, 'TTPUSH_WORKER_CONCURRENCY', 256, 1, 100_000),
      maxMessageAgeMs: int(src, 'TTPUSH_MAX_MESSAGE_AGE_MS', 3_600_000, 1000, 30 * 24 * 3_600_000),
      lockMs: int(src, 'TTPUSH_WORKER_LOCK_MS', 10_000, 1000, 600_000),
    },
    recordTtlMs: duration(src, 'TTPUSH_RECORD_TTL', '7d', 60_000, 365 * 86_400_000),
    upload: {
      maxBytes: int(src, 'TTPUSH_UPLOAD_MAX_BYTES', 1024 * 1024 * 1024, 1024, 64 * 1024 * 1024 * 1024),
      maxLines: int(src, 'TTPUSH_UPLOAD_MAX_LINES', 11_000_000, 2, 100_000_000),
      timeoutMs: duration(src, 'TTPUSH_UPLOAD_TIMEOUT', '5m', 1000, 86_400_000),
    },
    webhooks: {
      timeoutMs: int(src, 'TTPUSH_WEBHOOK_TIMEOUT_MS', 10_000, 100, 600_000),
      retryScheduleMs: retrySchedule(src),
      disableAfterMs: duration(src, 'TTPUSH_WEBHOOK_DISABLE_AFTER', '5d', 1000, 365 * 86_400_000),
      allowedNetworks: networks(src),
      endpointConcurrency: int(src, 'TTPUSH_WEBHOOK_ENDPOINT_CONCURRENCY', 4, 1, 1000),
      workerConcurrency: int(src, 'TTPUSH_WEBHOOK_WORKER_CONCURRENCY', 64, 1, 10_000),
    },
    logLevel,
    logFormat,
    dataDir,
    sandboxPorts: sandboxPorts(src),
    sandboxDbPool: sandboxDbPool(src),
    embedded,
  };
}
