/**
 * A real Redis Cluster for tests: `masters` redis-server processes (three by default) on free ports, with
 * cluster mode on and no persistence, joined by `redis-cli --cluster create` (no replicas). `stop()` kills
 * them and removes their folders (cluster config files included).
 */
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { RedisServer } from './redis-server.ts';

export interface RedisClusterOptions {
  masters?: number;
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${out}`))));
  });
}

export class RedisCluster {
  private constructor(readonly servers: RedisServer[]) {}

  static async start(options: RedisClusterOptions = {}): Promise<RedisCluster> {
    const servers: RedisServer[] = [];
    const cluster = new RedisCluster(servers);
    try {
      for (let i = 0; i < (options.masters ?? 3); i++) {
        servers.push(
          await RedisServer.start({
            // The config file is relative to --dir, the server's own temporary folder.
            extraArgs: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'],
          }),
        );
      }
      await run('redis-cli', [
        '--cluster', 'create', ...cluster.nodes.map((n) => `${n.host}:${n.port}`),
        '--cluster-replicas', '0', '--cluster-yes',
      ]); // prettier-ignore
      await cluster.waitOk();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  get nodes(): { host: string; port: number }[] {
    return this.servers.map((s) => ({ host: '127.0.0.1', port: s.port }));
  }

  /** The seed nodes as TTPUSH_REDIS_CLUSTER_NODES wants them. */
  get nodesEnv(): string {
    return this.nodes.map((n) => `${n.host}:${n.port}`).join(',');
  }

  /** Until every node says cluster_state:ok (slots assigned and agreed on). */
  private async waitOk(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const clients = this.servers.map((s) => new Redis(s.url, { lazyConnect: true, maxRetriesPerRequest: 1 }));
    try {
      for (;;) {
        const infos = await Promise.all(clients.map((c) => c.cluster('INFO').catch(() => '')));
        if (infos.every((i) => String(i).includes('cluster_state:ok'))) return;
        if (Date.now() > deadline) throw new Error(`cluster not ok: ${infos.join(' | ')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      for (const c of clients) c.disconnect();
    }
  }

  /** The keys each master holds (DBSIZE), in the order of `servers`. */
  async dbsizes(): Promise<number[]> {
    return Promise.all(
      this.servers.map(async (s) => {
        const c = new Redis(s.url, { maxRetriesPerRequest: 1 });
        try {
          return await c.dbsize();
        } finally {
          c.disconnect();
        }
      }),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop()));
  }
}
