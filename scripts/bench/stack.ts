/** Starts the pieces a benchmark measures as separate processes: redis-server, the sandbox, api, workers. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { RedisServer, freePort } from '@ttpush/testkit';

const BIN = fileURLToPath(new URL('../../packages/cli/bin/ttpush.mjs', import.meta.url));
export const BENCH_KEY = 'bench-dev-key-0123456789';

export interface Proc {
  name: string;
  child: ChildProcess;
  output: string[];
}

export function spawnNode(name: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const keep = (d: Buffer) => {
    output.push(d.toString());
    if (output.length > 200) output.shift();
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return { name, child, output };
}

export async function waitFor(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function stop(p: Proc): Promise<void> {
  return new Promise((resolve) => {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return resolve();
    p.child.once('exit', () => resolve());
    p.child.kill('SIGTERM');
    setTimeout(() => p.child.kill('SIGKILL'), 10_000).unref();
  });
}

/** Peak RSS of a process, read from /proc (Linux): VmHWM. */
export function peakRssMb(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

export interface Stack {
  redis: RedisServer;
  sandbox: Proc;
  api: Proc;
  workers: Proc[];
  url: string;
  ports: { db: number; route: number; msg: number; http: number };
  close(): Promise<void>;
}

export async function startStack(workers = 1, extraEnv: Record<string, string> = {}): Promise<Stack> {
  const redis = await RedisServer.start();
  const [db, route, msg, http] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const sandbox = spawnNode('sandbox', [
    BIN,
    'sandbox',
    '--db-port',
    String(db),
    '--route-port',
    String(route),
    '--msg-port',
    String(msg),
    '--log-level',
    'warn',
  ]);
  await waitFor(() => sandbox.output.join('').includes(String(msg)), 'sandbox');
  const env = {
    TTPUSH_REDIS_URL: redis.url,
    TTPUSH_DB_PROXY_ADDRS: `127.0.0.1:${db}`,
    TTPUSH_ROUTE_ADDRS: `127.0.0.1:${route}`,
    TTPUSH_DEV_APP_KEY: BENCH_KEY,
    TTPUSH_HTTP_PORT: String(http),
    TTPUSH_HTTP_HOST: '127.0.0.1',
    TTPUSH_LOG_LEVEL: 'warn',
    ...extraEnv,
  };
  const api = spawnNode('api', [BIN, 'api'], env);
  const ws = Array.from({ length: workers }, (_, i) => spawnNode(`worker${i}`, [BIN, 'worker'], env));
  const url = `http://127.0.0.1:${http}`;
  await waitFor(async () => (await fetch(`${url}/readyz`).catch(() => null))?.ok === true, 'api and worker ready');
  return {
    redis,
    sandbox,
    api,
    workers: ws,
    url,
    ports: { db, route, msg, http },
    async close() {
      await Promise.all([api, ...ws].map(stop));
      await stop(sandbox);
      await redis.stop();
    },
  };
}
