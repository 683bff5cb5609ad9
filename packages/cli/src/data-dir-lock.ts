/**
 * One `ttpush start` per data folder. Two of them on one folder would open the same Redis data and both
 * deliver what is scheduled there, so the first takes `<data folder>/ttpush.lock` (a JSON file with its pid and
 * what it runs) and a second one refuses, naming the holder. A lock whose pid is dead (a start that was
 * SIGKILLed, a reboot) is stale: it is taken over, and what it says helps clean up after it.
 */
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, processCommand } from './process-info.ts';

export const LOCK_FILE = 'ttpush.lock';

/** What the lock file says of the ttpush start holding it. */
export interface LockInfo {
  pid: number;
  started: string;
  /** The api's base URL. */
  url?: string;
  /** The private redis-server's URL and pid, once it runs. */
  redisUrl?: string;
  redisPid?: number;
  /** The TeamTalk addresses its workers use (the sandbox's or configured ones). */
  dbProxyAddrs?: string;
  routeAddrs?: string;
}

export class DataDirLockedError extends Error {
  override readonly name = 'DataDirLockedError';
  readonly code = 'DATA_DIR_LOCKED';
  constructor(
    readonly dir: string,
    readonly holder: LockInfo,
  ) {
    super(`the data folder ${dir} is in use by the ttpush start of pid ${holder.pid}`);
  }
}

export interface DataDirLock {
  readonly path: string;
  /** The lock of a start that died without releasing it, when this one took it over. */
  readonly staleHolder: LockInfo | undefined;
  /** Adds to what the lock file says (the api's URL, Redis, TeamTalk), for a second start's message. */
  update(info: Partial<LockInfo>): void;
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): void;
}

function readLock(path: string): LockInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
    return Number.isInteger(info.pid) ? info : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the holder still runs. A live pid running something other than ttpush (the pid was reused after a
 * reboot) does not hold the folder; a pid whose command cannot be read is taken as a holder.
 */
export function holderAlive(info: LockInfo): boolean {
  if (info.pid === process.pid || !isAlive(info.pid)) return false;
  const cmd = processCommand(info.pid);
  return cmd === undefined || cmd.includes('ttpush');
}

/**
 * Takes the lock of `dir` (which must exist) for this process, or throws DataDirLockedError naming the holder.
 * The file appears whole (written aside, then hard-linked), and a stale one is taken over by one start only.
 */
export function acquireDataDirLock(dir: string, info: Omit<LockInfo, 'pid' | 'started'> = {}): DataDirLock {
  const path = join(dir, LOCK_FILE);
  let current: LockInfo = { pid: process.pid, started: new Date().toISOString(), ...info };
  const write = (target: string, flag: 'w' | 'wx') =>
    writeFileSync(target, JSON.stringify(current, null, 2) + '\n', { flag, mode: 0o644 });
  const aside = `${path}.${process.pid}`;
  let staleHolder: LockInfo | undefined;
  for (let attempt = 0; ; attempt++) {
    if (attempt > 20) throw new Error(`cannot take the lock ${path}: it keeps changing`);
    write(aside, 'w');
    try {
      linkSync(aside, path);
      unlinkSync(aside);
      break;
    } catch (err) {
      unlinkSync(aside);
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readLock(path);
    if (holder && holderAlive(holder)) throw new DataDirLockedError(dir, holder);
    // Stale (or unreadable: a start that died while writing it). Move it aside to look at it: if another start
    // took it over in the meantime, what was moved is that start's live lock, and it goes back.
    const moved = `${path}.stale.${process.pid}`;
    try {
      renameSync(path, moved);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const seen = readLock(moved);
    if (seen && holderAlive(seen)) {
      try {
        linkSync(moved, path);
      } catch {
        // a third start holds it now; it will be seen on the next round
      }
      unlinkSync(moved);
      continue;
    }
    unlinkSync(moved);
    staleHolder = seen ?? holder ?? staleHolder;
  }

  let released = false;
  return {
    path,
    staleHolder,
    update(more) {
      if (released) return;
      current = { ...current, ...more };
      const tmp = `${path}.${process.pid}.new`;
      write(tmp, 'w');
      renameSync(tmp, path);
    },
    release() {
      if (released) return;
      released = true;
      if (readLock(path)?.pid === process.pid) {
        try {
          unlinkSync(path);
        } catch {
          // already gone
        }
      }
    },
  };
}

/** The refusal a second `ttpush start` prints: who holds the folder, and the two ways to run a second instance. */
export function lockedMessage(err: DataDirLockedError): string {
  const h = err.holder;
  const what = [
    `pid ${h.pid}`,
    `started ${h.started}`,
    h.url && `api at ${h.url}`,
    h.redisUrl && `Redis at ${h.redisUrl}`,
  ].filter(Boolean);
  const teamtalk =
    h.dbProxyAddrs && h.routeAddrs ? ` TTPUSH_DB_PROXY_ADDRS=${h.dbProxyAddrs} TTPUSH_ROUTE_ADDRS=${h.routeAddrs}` : '';
  return [
    `ttpush start: the data folder ${err.dir} is in use by another ttpush start (${what.join(', ')}).`,
    'Two ttpush on one data folder share its Redis and would deliver scheduled messages twice. To run a second instance, either',
    '  give it a data folder and ports of its own:',
    '    TTPUSH_DATA_DIR=.ttpush-2 TTPUSH_HTTP_PORT=8401 TTPUSH_SANDBOX_PORTS=0,0,0 npm start',
    "  or point it at the first one's Redis (and TeamTalk), so that both serve one queue:",
    `    TTPUSH_REDIS_URL=${h.redisUrl ?? 'redis://127.0.0.1:<its port>'}${teamtalk} TTPUSH_HTTP_PORT=8401 npm start`,
    `Or stop the first one: kill ${h.pid}`,
  ].join('\n');
}
