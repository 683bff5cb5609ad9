/**
 * The private redis-server `ttpush start` runs when TTPUSH_REDIS_URL is unset: data in .ttpush/redis
 * under the working folder, AOF with fsync every second, bound to 127.0.0.1 on a free port.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort, redisAnswers as ping } from '@ttpush/core';

export interface EmbeddedRedis {
  url: string;
  dir: string;
  stop(): Promise<void>;
}

export function redisServerPath(): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p ? p : undefined;
}

export async function startEmbeddedRedis(baseDir: string): Promise<EmbeddedRedis> {
  const bin = redisServerPath();
  if (!bin) {
    throw new Error(
      'TTPUSH_REDIS_URL is unset and no redis-server binary is on PATH. Either install one ' +
        '(Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or point TTPUSH_REDIS_URL at a running Redis.',
    );
  }
  const dir = resolve(join(baseDir, 'redis'));
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const logFd = openSync(join(dir, 'redis.log'), 'a');
  const child: ChildProcess = spawn(
    bin,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--daemonize',
      'no',
    ],
    { stdio: ['ignore', logFd, logFd] },
  );
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + 10_000;
  while (!(await ping(port))) {
    if (child.exitCode !== null) throw new Error(`redis-server exited at start: see ${join(dir, 'redis.log')}`);
    if (Date.now() > deadline)
      throw new Error(`redis-server did not answer on port ${port}: see ${join(dir, 'redis.log')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    dir,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    },
  };
}
