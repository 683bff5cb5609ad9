/**
 * What `ttpush doctor` checks when Redis or TeamTalk is left unset: the same as `ttpush start` would use. When a
 * `ttpush start` holds the data folder, that is its private Redis, its TeamTalk addresses and the admin key it
 * keeps there, so the doctor checks the running instance rather than warning that nothing is configured.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '@ttpush/config';
import { holderAlive, LOCK_FILE, type LockInfo } from '../data-dir-lock.ts';
import { KEYS_FILE } from '../kept-keys.ts';

export interface RunningStart {
  pid: number;
  /** Variables to set before the configuration is read again: only those the environment leaves unset. */
  env: Record<string, string>;
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The running `ttpush start` of `config.dataDir`, when one holds it and something it runs is left unconfigured. */
export function runningStart(config: Config, env: NodeJS.ProcessEnv = process.env): RunningStart | undefined {
  if (!config.embedded.redis && !config.embedded.teamtalk) return undefined;
  const lock = readJson(join(config.dataDir, LOCK_FILE)) as LockInfo | undefined;
  if (!lock || typeof lock.pid !== 'number' || !holderAlive(lock)) return undefined;
  const set: Record<string, string> = {};
  if (config.embedded.redis && lock.redisUrl) set.TTPUSH_REDIS_URL = lock.redisUrl;
  if (config.embedded.teamtalk && lock.dbProxyAddrs && lock.routeAddrs) {
    set.TTPUSH_DB_PROXY_ADDRS = lock.dbProxyAddrs;
    set.TTPUSH_ROUTE_ADDRS = lock.routeAddrs;
  }
  if (env.TTPUSH_ADMIN_KEY === undefined) {
    const keys = readJson(join(config.dataDir, KEYS_FILE)) as { admin_key?: unknown } | undefined;
    if (typeof keys?.admin_key === 'string') set.TTPUSH_ADMIN_KEY = keys.admin_key;
  }
  return Object.keys(set).length > 0 ? { pid: lock.pid, env: set } : undefined;
}
