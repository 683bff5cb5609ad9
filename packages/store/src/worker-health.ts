/**
 * Whether the workers of one host are alive and connected to TeamTalk, read from their heartbeats (keys.ts:
 * P:workers, P:w:<id>, written every second by each worker). A worker's id starts with its host name, so a
 * container's health check (`ttpush healthcheck worker`, run inside the container) finds its own worker.
 */
import type { Redis } from 'ioredis';
import type { Keys } from '@ttpush/contract';

/** A heartbeat older than this is a dead worker (the API's /readyz uses the same). */
export const LIVE_HEARTBEAT_MS = 15_000;

export interface HostHealth {
  healthy: boolean;
  /** One line for an operator: which worker, and what it is (not) connected to. */
  detail: string;
}

interface BeatState {
  dbProxyReady?: boolean;
  routeReady?: boolean;
  connections?: { role?: string; address?: string; status?: string }[];
}

/** The state a worker's heartbeat keeps in P:w:<id> (JSON), as the api's /readyz and /metrics read it. */
export interface WorkerBeat {
  /** When it was written (ms). */
  at: number;
  dbProxyReady: boolean;
  routeReady: boolean;
  connections: unknown;
  /** Its view of each db_proxy_server (absent from workers of older versions). */
  dbProxy?: unknown;
}

/** The workers that beat within LIVE_HEARTBEAT_MS of `now`, with their state (a worker listed without one is left out). */
export async function liveWorkers(redis: Redis, keys: Keys, now: number): Promise<{ id: string; beat: WorkerBeat }[]> {
  const ids = await redis.zrangebyscore(keys.workers, now - LIVE_HEARTBEAT_MS, '+inf');
  // One GET per worker rather than MGET: on a cluster the workers' keys lie on different slots.
  const states = await Promise.all(ids.map((id) => redis.get(keys.worker(id))));
  return ids.flatMap((id, i) => {
    const raw = states[i];
    return raw ? [{ id, beat: JSON.parse(raw) as WorkerBeat }] : [];
  });
}

/** Healthy when a worker of `host` beat within LIVE_HEARTBEAT_MS and is connected to db_proxy and route servers. */
export async function hostWorkerHealth(redis: Redis, keys: Keys, host: string, now = Date.now()): Promise<HostHealth> {
  // A worker id is `<host>-<pid>-<6 hex>` (apps/worker/src/worker.ts): the host is what is left without the two.
  const ids = (await redis.zrangebyscore(keys.workers, now - LIVE_HEARTBEAT_MS, '+inf')).filter(
    (id) => id.replace(/-\d+-[0-9a-f]{6}$/, '') === host,
  );
  if (ids.length === 0) {
    return {
      healthy: false,
      detail: `no worker of host ${host} has a heartbeat in Redis within ${LIVE_HEARTBEAT_MS / 1000} s: is the worker running, with this TTPUSH_REDIS_URL and TTPUSH_REDIS_PREFIX?`,
    };
  }
  const problems: string[] = [];
  for (const id of ids) {
    const raw = await redis.get(keys.worker(id));
    if (raw === null) continue;
    const s = JSON.parse(raw) as BeatState;
    if (s.dbProxyReady && s.routeReady) {
      return { healthy: true, detail: `worker ${id} is connected to db_proxy_server and route_server` };
    }
    const down = (s.connections ?? [])
      .filter((c) => c.status !== 'ready')
      .map((c) => `${c.role} ${c.address} ${c.status}`)
      .join(', ');
    problems.push(
      `worker ${id} is not connected to ${[!s.dbProxyReady && 'db_proxy_server', !s.routeReady && 'route_server'].filter(Boolean).join(' and ')}${down ? ` (${down})` : ''}: check TTPUSH_DB_PROXY_ADDRS and TTPUSH_ROUTE_ADDRS`,
    );
  }
  return { healthy: false, detail: problems.join('; ') || `the workers of host ${host} left no state` };
}
