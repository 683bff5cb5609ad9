/**
 * A real redis-server child process on a free port, for tests that must kill and restart Redis.
 * Data lives in a temporary folder removed by `stop()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, redisAnswers as ping } from '@ttpush/store';

export interface RedisServerOptions {
  /** 'none' (default), 'everysec' or 'always' (AOF fsync policy). */
  persistence?: 'none' | 'everysec' | 'always';
  port?: number;
  extraArgs?: string[];
}

export class RedisServer {
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  readonly dir: string;

  private constructor(
    readonly port: number,
    private readonly options: RedisServerOptions,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'ttpush-redis-'));
  }

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const server = new RedisServer(options.port ?? (await freePort()), options);
    await server.startProcess();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  private args(): string[] {
    const p = this.options.persistence ?? 'none';
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', ''];
    args.push('--daemonize', 'no', '--loglevel', 'warning');
    if (p === 'none') args.push('--appendonly', 'no');
    else args.push('--appendonly', 'yes', '--appendfsync', p);
    return [...args, ...(this.options.extraArgs ?? [])];
  }

  async startProcess(): Promise<void> {
    if (this.child) return;
    const child = spawn('redis-server', this.args(), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server exited at start: ${stderr}`);
      const ok = await Promise.race([ping(this.port), spawnError]);
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${this.port}: ${stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Kills the process (SIGKILL by default: nothing is flushed that was not already). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill(signal);
    await this.exited;
    this.child = undefined;
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.startProcess();
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
