/**
 * Whether the workers of one host are alive and connected to TeamTalk, read from their heartbeats (workers.ts,
 * written every second by each worker). A worker's id starts with its host name, so a
 * container's health check (`ttpush healthcheck worker`, run inside the container) finds its own worker.
 */
import { LIVE_HEARTBEAT_MS, hostOf, type WorkerRegistry } from './workers.ts';

export interface HostHealth {
  healthy: boolean;
  /** One line for an operator: which worker, and what it is (not) connected to. */
  detail: string;
}

/** Healthy when a worker of `host` beat within LIVE_HEARTBEAT_MS and is connected to db_proxy and route servers. */
export async function hostWorkerHealth(workers: WorkerRegistry, host: string, now = Date.now()): Promise<HostHealth> {
  const ids = (await workers.liveIds(now)).filter((id) => hostOf(id) === host);
  if (ids.length === 0) {
    return {
      healthy: false,
      detail: `no worker of host ${host} has a heartbeat in Redis within ${LIVE_HEARTBEAT_MS / 1000} s: is the worker running, with this TTPUSH_REDIS_URL and TTPUSH_REDIS_PREFIX?`,
    };
  }
  const problems: string[] = [];
  for (const id of ids) {
    const s = await workers.state(id);
    if (s === undefined) continue;
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
