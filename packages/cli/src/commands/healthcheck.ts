/**
 * `ttpush healthcheck api|worker`: one check for a container's HEALTHCHECK (docker-compose.yml). Exit 0 healthy,
 * 1 not (the reason on stdout, which `docker inspect` shows), 2 usage or configuration error.
 *   api     GET /readyz of the api on this host (TTPUSH_HTTP_PORT): Redis reachable and a worker connected to TeamTalk.
 *   worker  a worker of this host (its id starts with the host name) beat in Redis within 15 s and is connected
 *           to db_proxy_server and route_server.
 */
import { hostname } from 'node:os';
import { WorkerRegistry, hostWorkerHealth, producerRedis, redisTarget } from '@ttpush/store';
import { bootConfig } from '../boot.ts';

const USAGE = `usage: ttpush healthcheck api|worker [--timeout S]

  api      asks http://127.0.0.1:<TTPUSH_HTTP_PORT>/readyz of the api on this host
  worker   reads this host's worker heartbeat in Redis (TTPUSH_REDIS_URL or TTPUSH_REDIS_CLUSTER_NODES)

Exit 0 healthy, 1 not healthy (why on stdout), 2 usage or configuration error.`;

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  const [role, ...rest] = argv;
  let timeoutS = 5;
  if (rest[0] === '--timeout' && rest.length === 2 && /^\d{1,3}$/.test(rest[1]!) && Number(rest[1]) > 0) {
    timeoutS = Number(rest[1]);
  } else if (rest.length > 0) {
    console.error(`ttpush healthcheck: unexpected ${rest.join(' ')}\n\n${USAGE}`);
    return 2;
  }
  if (role !== 'api' && role !== 'worker') {
    console.error(`ttpush healthcheck: say which role to check, api or worker\n\n${USAGE}`);
    return 2;
  }
  const config = bootConfig();
  if (!config) return 2;
  return role === 'api' ? checkApi(config.http.port, timeoutS) : checkWorker(config, timeoutS);
}

async function checkApi(port: number, timeoutS: number): Promise<number> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(timeoutS * 1000) });
    const body = (await r.json().catch(() => ({}))) as { reasons?: string[]; workers?: number };
    if (r.ok) {
      console.log(`api ready: Redis reachable, ${body.workers ?? '?'} worker(s) connected to TeamTalk`);
      return 0;
    }
    console.log(`api not ready: ${(body.reasons ?? [`HTTP ${r.status}`]).join('; ')}`);
  } catch (err) {
    console.log(`api not answering on 127.0.0.1:${port}: ${(err as Error).message}`);
  }
  return 1;
}

async function checkWorker(config: NonNullable<ReturnType<typeof bootConfig>>, timeoutS: number): Promise<number> {
  const target = redisTarget(config);
  if (!target) {
    console.error('ttpush healthcheck: set TTPUSH_REDIS_URL (or TTPUSH_REDIS_CLUSTER_NODES), as for the worker');
    return 2;
  }
  const redis = producerRedis(target, { maxRetriesPerRequest: 0 });
  redis.on('error', () => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      if (redis.status === 'ready') return resolve();
      const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutS} s`)), timeoutS * 1000);
      redis.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    const health = await hostWorkerHealth(new WorkerRegistry(redis, config.redisPrefix), hostname());
    console.log(health.detail);
    return health.healthy ? 0 : 1;
  } catch (err) {
    console.log(`Redis is not reachable: ${(err as Error).message}`);
    return 1;
  } finally {
    redis.disconnect();
  }
}
