/**
 * Starts the pieces a benchmark measures as separate processes: redis-server, the sandbox, api, workers.
 *
 * BENCH_TREE=DIR runs the api and the workers of another checkout of the project (with its own node_modules), e.g.
 * an older commit for a before/after comparison in one run; the sandbox always comes from this tree.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { RedisServer, freePort } from '@ttpush/testkit';
import { redisPid } from './redis-info.ts';

const BIN = fileURLToPath(new URL('../../packages/cli/bin/ttpush.mjs', import.meta.url));
export const BENCH_KEY = 'bench-dev-key-0123456789';

/** The checkout whose api and workers run: BENCH_TREE, or this one. */
export function ttpushTree(): { dir: string; bin: string } {
  const dir = resolve(process.env.BENCH_TREE || fileURLToPath(new URL('../..', import.meta.url)));
  const bin = resolve(dir, 'packages/cli/bin/ttpush.mjs');
  if (!existsSync(bin)) throw new Error(`BENCH_TREE: no ${bin}`);
  return { dir, bin };
}

export interface Proc {
  name: string;
  child: ChildProcess;
  output: string[];
}

export function spawnNode(name: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Proc {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd,
  });
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

/** Messages queued and not yet finished, from the api's /metrics. */
export async function queueDepth(url: string): Promise<number> {
  const res = await fetch(`${url}/metrics`);
  const m = /^ttpush_queue_depth (\d+)/m.exec(await res.text());
  // Read as 0, a missing gauge would end every "drained" wait at once and inflate the sent rates.
  if (!m)
    throw new Error(`${url}/metrics (HTTP ${res.status}) has no ttpush_queue_depth line: is that api a ttpush api?`);
  return Number(m[1]);
}

/** Resolves once the queue is empty, polling every 20 ms (a 3,000-message load drains in about a second). */
export async function drained(url: string, timeoutMs = 600_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while ((await queueDepth(url)) !== 0) {
    if (Date.now() > end) throw new Error('timed out waiting for the queue to drain');
    await new Promise((r) => setTimeout(r, 20));
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
  /** api, workers and redis-server: whose CPU time a message costs. */
  pids: number[];
  close(): Promise<void>;
}

export interface StackOptions {
  workers?: number;
  env?: Record<string, string>;
  /** More `ttpush sandbox` flags, e.g. ['--db-pool']. */
  sandboxArgs?: string[];
}

/**
 * BENCH_PROF_DIR=DIR: the api and workers write V8 CPU profiles there (a folder per process, `DIR/<name>-<start time>`, with a file per thread) when they stop;
 * `node --import tsx scripts/bench/prof-summary.ts DIR` prints where their time went.
 */
function profiling(name: string): string[] {
  const dir = process.env.BENCH_PROF_DIR;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}/${name}-${Date.now()}`] : [];
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const { workers = 1, env: extraEnv = {}, sandboxArgs = [] } = opts;
  const tree = ttpushTree();
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
    ...sandboxArgs,
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
  const api = spawnNode('api', [...profiling('api'), tree.bin, 'api'], env, tree.dir);
  const ws = Array.from({ length: workers }, (_, i) =>
    spawnNode(`worker${i}`, [...profiling(`worker${i}`), tree.bin, 'worker'], env, tree.dir),
  );
  const url = `http://127.0.0.1:${http}`;
  await waitFor(async () => (await fetch(`${url}/readyz`).catch(() => null))?.ok === true, 'api and worker ready');
  const pids = [api, ...ws].map((p) => p.child.pid!);
  pids.push(await redisPid(redis.port));
  return {
    redis,
    sandbox,
    api,
    workers: ws,
    url,
    ports: { db, route, msg, http },
    pids,
    async close() {
      await Promise.all([api, ...ws].map(stop));
      await stop(sandbox);
      await redis.stop();
    },
  };
}
