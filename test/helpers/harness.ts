/**
 * End-to-end harness: a real redis-server or a three-master Redis Cluster (testkit), the sandbox TeamTalk in this process (so tests can
 * read its store and flip its faults), and ttpush's api and workers as real child processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RedisCluster, RedisServer, freePort, type RedisServerOptions } from '@ttpush/testkit';
import { startSandbox, type Sandbox } from '@ttpush/sandbox';

const BIN = fileURLToPath(new URL('../../packages/cli/bin/ttpush.mjs', import.meta.url));
export const DEV_KEY = 'dev-key-for-tests-0123456789';
export const STOCK_KEY = '12345678901234567890123456789012';

export interface HarnessOptions {
  workers?: number;
  redis?: RedisServerOptions;
  sandbox?: Parameters<typeof startSandbox>[0];
  env?: Record<string, string>;
  /** Run api and workers against a local three-master Redis Cluster (TTPUSH_REDIS_CLUSTER_NODES). */
  cluster?: boolean;
}

interface Proc {
  child: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
}

export class Harness {
  readonly workers: Proc[] = [];
  /** More api processes against the same Redis (startExtraApi), each on its own port. */
  readonly extraApis: Proc[] = [];
  api: Proc | undefined;
  apiPort = 0;

  private constructor(
    /** The Redis server; with `cluster`, the cluster's first master (a plain client there sees MOVED replies). */
    readonly redis: RedisServer,
    readonly sandbox: Sandbox,
    private readonly env: Record<string, string>,
    readonly cluster?: RedisCluster,
  ) {}

  static async start(opts: HarnessOptions = {}): Promise<Harness> {
    const cluster = opts.cluster ? await RedisCluster.start() : undefined;
    const redis = cluster ? cluster.servers[0]! : await RedisServer.start(opts.redis);
    const sandbox = await startSandbox({ ...opts.sandbox });
    const env: Record<string, string> = {
      ...(cluster ? { TTPUSH_REDIS_CLUSTER_NODES: cluster.nodesEnv } : { TTPUSH_REDIS_URL: redis.url }),
      TTPUSH_DB_PROXY_ADDRS: `127.0.0.1:${sandbox.dbProxy.port}`,
      TTPUSH_ROUTE_ADDRS: `127.0.0.1:${sandbox.route.port}`,
      TTPUSH_DEV_APP_KEY: DEV_KEY,
      TTPUSH_LOG_LEVEL: process.env.TTPUSH_TEST_LOG_LEVEL ?? 'warn',
      TTPUSH_HTTP_HOST: '127.0.0.1',
      ...opts.env,
    };
    const h = new Harness(redis, sandbox, env, cluster);
    try {
      await h.startApi();
      for (let i = 0; i < (opts.workers ?? 1); i++) h.startWorker();
      await h.waitReady();
    } catch (err) {
      await h.stop();
      throw err;
    }
    return h;
  }

  get url(): string {
    return `http://127.0.0.1:${this.apiPort}`;
  }

  private spawnRole(role: string, extraEnv: Record<string, string> = {}): Proc {
    const child = spawn(process.execPath, [BIN, role], {
      env: { ...process.env, ...this.env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    const keep = (d: Buffer) => {
      output.push(d.toString());
      if (output.length > 500) output.shift();
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    return { child, output, exited };
  }

  /** Starts the api (again, after stopProcesses or a kill), on the same port; `extraEnv` changes its configuration. */
  async startApi(extraEnv: Record<string, string> = {}): Promise<void> {
    this.apiPort ||= await freePort();
    this.api = this.spawnRole('api', { ...extraEnv, TTPUSH_HTTP_PORT: String(this.apiPort) });
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (this.api.child.exitCode !== null) throw new Error(`api exited: ${this.api.output.join('')}`);
      try {
        const r = await fetch(`${this.url}/healthz`);
        if (r.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`api did not start: ${this.api.output.join('')}`);
      await sleep(100);
    }
  }

  /** Starts another api process on a free port against the same Redis; resolves with its base URL. */
  async startExtraApi(extraEnv: Record<string, string> = {}): Promise<string> {
    const port = await freePort();
    const api = this.spawnRole('api', { ...extraEnv, TTPUSH_HTTP_PORT: String(port) });
    this.extraApis.push(api);
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (api.child.exitCode !== null) throw new Error(`api exited: ${api.output.join('')}`);
      try {
        const r = await fetch(`${url}/healthz`);
        if (r.ok) return url;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`api did not start: ${api.output.join('')}`);
      await sleep(100);
    }
  }

  startWorker(extraEnv: Record<string, string> = {}): Proc {
    const w = this.spawnRole('worker', extraEnv);
    this.workers.push(w);
    return w;
  }

  /** Until /readyz says a worker is connected to TeamTalk. */
  async waitReady(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const r = await fetch(`${this.url}/readyz`);
        if (r.ok) return;
      } catch {
        // api restarting
      }
      if (Date.now() > deadline) {
        throw new Error(`not ready: workers said ${this.workers.map((w) => w.output.join('')).join('\n---\n')}`);
      }
      await sleep(100);
    }
  }

  /** Stops the api and every worker with SIGTERM and waits for them to exit; Redis and the sandbox keep running. */
  async stopProcesses(): Promise<void> {
    const procs = [...this.workers, ...(this.api ? [this.api] : [])];
    await Promise.all(
      procs.map(async (p) => {
        if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
        await p.exited;
      }),
    );
  }

  /** Stops the api alone (SIGTERM) and waits for it to exit. */
  async stopApi(): Promise<void> {
    const api = this.api;
    if (!api) return;
    if (api.child.exitCode === null && api.child.signalCode === null) api.child.kill('SIGTERM');
    await api.exited;
  }

  async killWorker(w: Proc, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    w.child.kill(signal);
    await w.exited;
  }

  /** POST JSON with the dev key. */
  async post(
    path: string,
    body: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: any }> {
    const r = await fetch(`${this.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${DEV_KEY}`, ...headers },
      body: JSON.stringify(body),
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  }

  /** GET with the dev key, or `key` (a message or batch is visible only to the app that sent it). */
  async get(path: string, key = DEV_KEY): Promise<{ status: number; body: any }> {
    const r = await fetch(`${this.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  }

  /** Polls until every id has a terminal status; returns the views. */
  async waitTerminal(ids: string[], timeoutMs = 60_000): Promise<Map<string, any>> {
    const deadline = Date.now() + timeoutMs;
    const views = new Map<string, any>();
    let pending = [...ids];
    while (pending.length > 0) {
      const next: string[] = [];
      for (let i = 0; i < pending.length; i += 50) {
        const slice = pending.slice(i, i + 50);
        const got = await Promise.all(slice.map((id) => this.get(`/v1/messages/${id}`)));
        got.forEach((g, j) => {
          const id = slice[j]!;
          if (g.status === 200 && ['sent', 'failed', 'cancelled'].includes(g.body.status)) views.set(id, g.body);
          else next.push(id);
        });
      }
      pending = next;
      if (pending.length === 0) break;
      if (Date.now() > deadline) {
        throw new Error(
          `${pending.length} messages not terminal, e.g. ${JSON.stringify((await this.get(`/v1/messages/${pending[0]}`)).body)}`,
        );
      }
      await sleep(200);
    }
    return views;
  }

  async stop(): Promise<void> {
    const procs = [...this.workers, ...(this.api ? [this.api] : []), ...this.extraApis];
    await Promise.all(
      procs.map(async (p) => {
        if (p.child.exitCode === null && p.child.signalCode === null) {
          p.child.kill('SIGTERM');
          const t = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
          await p.exited;
          clearTimeout(t);
        }
      }),
    );
    await this.sandbox.close().catch(() => undefined);
    if (this.cluster) await this.cluster.stop();
    else await this.redis.stop();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
