/**
 * startSandbox(): db_proxy_server, route_server and msg_server on real TCP ports, sharing one
 * in-memory store, with msg_server connected to the other two over the wire like the real one.
 */
import { TeamTalkCipher, silentLogger, wallClockTimers, type Logger, type Timers } from '@ttpush/pdu';
import { DbProxyServer, DEFAULT_MAX_CONTENT_CHARS } from './db-proxy-server.ts';
import { RouteServer } from './route-server.ts';
import { MsgServer } from './msg-server.ts';
import { SandboxStore } from './store.ts';
import { defaultTiming, type SandboxTiming } from './timing.ts';
import type { RandomSource } from './random.ts';
import type { ThreadPoolOptions } from './db-thread-pool.ts';

export interface SandboxOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 (default): any free port. The stock ports are 10600, 8200 and 8000. */
  dbPort?: number;
  routePort?: number;
  msgPort?: number;
  /** The servers' aesKey: only used to show decrypted text in debug logs. */
  aesKey?: string;
  /** Seed groups: { "<group id>": [member ids] }; creator = first member, type NORMAL. */
  groups?: Record<string, number[]>;
  /** Max random delay per db_proxy request (default 0: immediate, a pipelined burst still comes back shuffled). */
  reorderDelayMs?: number;
  /** The real server's ~10 ms per-reply floor and ~2.8k msgs/s ceiling (notes §10). */
  realistic?: boolean;
  /**
   * db_proxy's thread-pool mode (not with `realistic`): a pool of worker threads, each free one taking a random queued
   * request and holding it for a store time, replies in completion order; `{}` takes the defaults (4 threads,
   * 0.3 to 3 ms, no ceiling). Default: off.
   */
  dbThreadPool?: ThreadPoolOptions;
  /** The `content` column size (default 4096 base64 characters, i.e. 3068 plaintext bytes). */
  maxContentChars?: number;
  /** pino-compatible; default silent. */
  logger?: Logger;
  /** Injectable clock (heartbeats, timeouts, delays, reconnects, msg_server's create_time). */
  timers?: Timers;
  /** Overrides of the real servers' time constants (5 s heartbeat, 30 s timeout, ...). */
  timing?: Partial<SandboxTiming>;
  /** Randomness of db_proxy's reply order; pass seededRandom(n) for a reproducible order. */
  random?: RandomSource;
  /** Largest PDU any server accepts (default 1 MiB); a longer length field closes the connection. */
  maxPduLength?: number;
  /** Whether a pair's first two messages handled together create the relation twice (default true, notes §10). */
  relationRace?: boolean;
  /** How long to wait for msg_server to reach db_proxy and route at start (real ms, default 5000). */
  upstreamTimeoutMs?: number;
}

export interface Sandbox {
  readonly dbProxy: DbProxyServer;
  readonly route: RouteServer;
  readonly msgServer: MsgServer;
  readonly store: SandboxStore;
  /** Stops everything: closes every socket and timer. Idempotent. */
  close(): Promise<void>;
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const host = opts.host ?? '127.0.0.1';
  const logger = opts.logger ?? silentLogger;
  const timers = opts.timers ?? wallClockTimers;
  const timing: SandboxTiming = { ...defaultTiming, ...definedOnly(opts.timing ?? {}) };
  const base = { host, timers, logger, timing, maxPduLength: opts.maxPduLength };
  const store = new SandboxStore();
  store.relationRace = opts.relationRace ?? true;
  for (const [id, members] of Object.entries(opts.groups ?? {})) {
    store.createGroup({ id: Number(id), members });
  }
  const dbProxy = new DbProxyServer({
    ...base,
    port: opts.dbPort ?? 0,
    store,
    random: opts.random,
    reorderDelayMs: opts.reorderDelayMs,
    realistic: opts.realistic,
    threadPool: opts.dbThreadPool,
    maxContentChars: opts.maxContentChars ?? DEFAULT_MAX_CONTENT_CHARS,
    cipher: opts.aesKey ? new TeamTalkCipher(opts.aesKey) : undefined,
  });
  const route = new RouteServer({ ...base, port: opts.routePort ?? 0 });
  let msgServer: MsgServer | undefined;
  const stopAll = async () => {
    await msgServer?.stop();
    await route.stop();
    await dbProxy.stop();
  };
  try {
    await dbProxy.start();
    await route.start();
    msgServer = new MsgServer({
      ...base,
      port: opts.msgPort ?? 0,
      dbHost: host,
      dbPort: dbProxy.port,
      routeHost: host,
      routePort: route.port,
    });
    await msgServer.start();
    await msgServer.waitUpstream(opts.upstreamTimeoutMs ?? 5000);
  } catch (err) {
    await stopAll();
    throw err;
  }
  const servers = msgServer;
  let closing: Promise<void> | undefined;
  return {
    dbProxy,
    route,
    msgServer: servers,
    store,
    close: () => (closing ??= stopAll()),
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
