/**
 * The doctor's Redis checks: reachable, version, persistence (and what a 202 then guarantees), memory
 * policy, cluster or not; then the workers' heartbeats (apps/worker writes them: store workers.ts).
 * INFO is read from each configured node; CONFIG may be disabled (renamed away) on managed Redis: then
 * what it alone tells is "unknown", a warning, never a crash.
 */
import { Redis } from 'ioredis';
import { LIVE_HEARTBEAT_MS, WorkerRegistry, producerRedis, redisTarget } from '@ttpush/store';
import type { Config } from '@ttpush/config';
import { fail, ok, warn, type Check } from './check.ts';

type Info = Map<string, string>;

function parseInfo(text: string): Info {
  const info: Info = new Map();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) info.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return info;
}

/** A Redis URL without its credentials, safe to print. */
export function safeRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '';
      u.password = '';
    }
    return u.toString();
  } catch {
    return '(an unparsable URL)';
  }
}

function plainClient(target: string | { host: string; port: number }, timeoutMs: number): Redis {
  const options = {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: true,
  };
  const client = typeof target === 'string' ? new Redis(target, options) : new Redis({ ...target, ...options });
  client.on('error', () => undefined);
  return client;
}

/** CONFIG GET one parameter; undefined when CONFIG is disabled or refused. */
async function configGet(client: Redis, name: string): Promise<string | undefined> {
  try {
    const reply = (await client.call('CONFIG', 'GET', name)) as string[];
    return reply.length >= 2 ? reply[1] : undefined;
  } catch {
    return undefined;
  }
}

function versionAtLeast(version: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = version.split('.').map(Number);
  return a > major || (a === major && b >= minor);
}

const PERSISTENCE_FIX =
  'turn AOF on: CONFIG SET appendonly yes, CONFIG SET appendfsync everysec (or always), and the same in redis.conf';

function persistenceCheck(
  name: string,
  info: Info,
  appendonly: string | undefined,
  fsync: string | undefined,
  save: string | undefined,
): Check {
  const aof = appendonly !== undefined ? appendonly === 'yes' : info.get('aof_enabled') === '1';
  const rdb =
    save !== undefined && save.trim() !== ''
      ? ` (RDB snapshots "${save}" only: a restart loses what came after the last one)`
      : '';
  if (!aof) {
    return warn(
      name,
      `none${rdb}: a 202 survives any ttpush process crash, but queued messages are lost if Redis itself restarts`,
      PERSISTENCE_FIX,
    );
  }
  if (fsync === 'always') {
    return ok(name, 'AOF appendfsync always: a 202 survives a Redis crash (it is sent after the write is fsynced)');
  }
  if (fsync === 'everysec') {
    return ok(name, 'AOF appendfsync everysec: a 202 survives a Redis crash except the last second of acceptances');
  }
  if (fsync === 'no') {
    return warn(
      name,
      'AOF appendfsync no: the operating system decides when to write; a Redis crash may lose tens of seconds of acceptances',
      'CONFIG SET appendfsync everysec (or always), and the same in redis.conf',
    );
  }
  return warn(
    name,
    'AOF on, fsync policy unknown (CONFIG is disabled on this Redis): a 202 survives a Redis crash except at most the last second (everysec) or nothing lost (always)',
    'check appendfsync in redis.conf (everysec or always), or allow CONFIG GET to the doctor',
  );
}

/** The checks of one Redis node; `label` names it in each line. */
async function nodeChecks(
  label: string,
  target: string | { host: string; port: number },
  clusterWanted: boolean,
  timeoutMs: number,
): Promise<Check[]> {
  const client = plainClient(target, timeoutMs);
  // ioredis rejects a failed connect with "Connection is closed."; the socket's own error says why.
  let cause: Error | undefined;
  client.on('error', (err: Error) => (cause ??= err));
  const checks: Check[] = [];
  try {
    const started = Date.now();
    try {
      await client.connect();
      await client.ping();
    } catch (err) {
      return [
        fail(
          label,
          `unreachable: ${(cause ?? (err as Error)).message}`,
          clusterWanted
            ? 'start Redis there, or correct TTPUSH_REDIS_CLUSTER_NODES'
            : 'start Redis, or correct TTPUSH_REDIS_URL (host, port, password)',
        ),
      ];
    }
    checks.push(ok(label, `reachable (PING answered in ${Date.now() - started} ms)`));
    const info = parseInfo((await client.info()) as string);
    const version = info.get('redis_version') ?? 'unknown';
    if (version === 'unknown') {
      checks.push(warn(`${label} version`, 'unknown (INFO does not say)', 'use Redis 6.2 or later'));
    } else if (!versionAtLeast(version, 5, 0)) {
      checks.push(
        fail(`${label} version`, `${version}: BullMQ needs Redis 5 or later`, 'upgrade to Redis 6.2 or later'),
      );
    } else if (!versionAtLeast(version, 6, 2)) {
      checks.push(
        warn(
          `${label} version`,
          `${version}: works, but ttpush is tested on 6.2 and later`,
          'upgrade to Redis 6.2 or later',
        ),
      );
    } else {
      checks.push(ok(`${label} version`, version));
    }
    const [appendonly, fsync, save, policyByConfig] = await Promise.all([
      configGet(client, 'appendonly'),
      configGet(client, 'appendfsync'),
      configGet(client, 'save'),
      configGet(client, 'maxmemory-policy'),
    ]);
    checks.push(persistenceCheck(`${label} persistence`, info, appendonly, fsync, save));
    const policy = info.get('maxmemory_policy') ?? policyByConfig;
    if (policy === undefined) {
      checks.push(
        warn(
          `${label} memory policy`,
          'unknown (neither INFO nor CONFIG says)',
          'make sure maxmemory-policy is noeviction: any other policy lets Redis delete queued messages when full',
        ),
      );
    } else if (policy === 'noeviction') {
      checks.push(
        ok(`${label} memory policy`, 'noeviction: a full Redis refuses new messages (503) and deletes nothing'),
      );
    } else {
      checks.push(
        fail(
          `${label} memory policy`,
          `${policy}: when memory runs out, Redis deletes keys, queued messages and their state among them`,
          'CONFIG SET maxmemory-policy noeviction, and the same in redis.conf',
        ),
      );
    }
    const clusterEnabled = info.get('cluster_enabled') === '1';
    if (clusterEnabled && !clusterWanted) {
      checks.push(
        fail(
          `${label} cluster`,
          'this Redis is a cluster node, but ttpush is configured for one Redis (TTPUSH_REDIS_URL)',
          "set TTPUSH_REDIS_CLUSTER_NODES to the cluster's nodes instead of TTPUSH_REDIS_URL",
        ),
      );
    } else if (!clusterEnabled && clusterWanted) {
      checks.push(
        fail(
          `${label} cluster`,
          'TTPUSH_REDIS_CLUSTER_NODES names this node, but it is no cluster node',
          'give the nodes of a Redis Cluster, or set TTPUSH_REDIS_URL for one Redis',
        ),
      );
    } else if (clusterEnabled) {
      let state = 'unknown';
      try {
        state = parseInfo((await client.call('CLUSTER', 'INFO')) as string).get('cluster_state') ?? 'unknown';
      } catch {
        // reported as unknown
      }
      checks.push(
        state === 'ok'
          ? ok(`${label} cluster`, 'a Redis Cluster node, cluster state ok')
          : fail(
              `${label} cluster`,
              `a Redis Cluster node, cluster state ${state}`,
              'repair the cluster (redis-cli --cluster check)',
            ),
      );
    } else {
      checks.push(ok(`${label} cluster`, 'one Redis, no cluster (as configured)'));
    }
    return checks;
  } catch (err) {
    checks.push(
      fail(
        label,
        `a check failed: ${(err as Error).message}`,
        'check that this is a Redis server and the doctor may run INFO',
      ),
    );
    return checks;
  } finally {
    client.disconnect();
  }
}

export async function redisChecks(config: Config, timeoutMs: number): Promise<Check[]> {
  if (config.redisClusterNodes.length > 0) {
    const perNode = await Promise.all(
      config.redisClusterNodes.map((n) => nodeChecks(`redis ${n.host}:${n.port}`, n, true, timeoutMs)),
    );
    return perNode.flat();
  }
  if (config.redisUrl === undefined) {
    return [
      warn(
        'redis',
        'TTPUSH_REDIS_URL is unset: `ttpush start` would run a private redis-server (development only)',
        'set TTPUSH_REDIS_URL (or TTPUSH_REDIS_CLUSTER_NODES) to the Redis ttpush should use',
      ),
    ];
  }
  return nodeChecks(`redis ${safeRedisUrl(config.redisUrl)}`, config.redisUrl, false, timeoutMs);
}

/** Workers with a fresh heartbeat, and their TeamTalk connections. */
export async function workerChecks(config: Config, timeoutMs: number): Promise<Check[]> {
  const target = redisTarget(config);
  if (target === undefined) return [];
  const redis = producerRedis(target, { connectTimeout: timeoutMs, commandTimeout: timeoutMs });
  redis.on('error', () => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      if (redis.status === 'ready') return resolve();
      const timer = setTimeout(() => reject(new Error('Redis not ready')), timeoutMs);
      redis.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    const now = Date.now();
    const alive = await new WorkerRegistry(redis, config.redisPrefix).liveWorkers(now);
    if (alive.length === 0) {
      return [
        warn(
          'workers',
          `none alive (no heartbeat in the last ${LIVE_HEARTBEAT_MS / 1000} s under prefix "${config.redisPrefix}"): accepted messages would wait`,
          'start `ttpush worker` (or `ttpush start`) with this configuration',
        ),
      ];
    }
    return alive.map(({ id, beat: state }) => {
      const conns = (state.connections ?? []).map((c) => `${c.role} ${c.address} ${c.status}`).join(', ') || 'none';
      const detail = `alive (heartbeat ${Math.max(0, now - state.at)} ms ago); connections: ${conns}`;
      if (!state.dbProxyReady || !state.routeReady) {
        const missing = [!state.dbProxyReady && 'db_proxy_server', !state.routeReady && 'route_server']
          .filter(Boolean)
          .join(' and ');
        return warn(
          `worker ${id}`,
          `${detail}; no ready ${missing}`,
          `see the ${missing} checks above: the worker cannot send until one is ready`,
        );
      }
      return ok(`worker ${id}`, detail);
    });
  } catch (err) {
    return [
      fail(
        'workers',
        `could not read the workers' heartbeats: ${(err as Error).message}`,
        'see the Redis checks above',
      ),
    ];
  } finally {
    redis.disconnect();
  }
}
