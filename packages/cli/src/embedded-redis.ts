/**
 * The private redis-server `ttpush start` runs when TTPUSH_REDIS_URL is unset: data in <data folder>/redis
 * (TTPUSH_DATA_DIR, default .ttpush), AOF with fsync every second, bound to 127.0.0.1 on a free port.
 *
 * It runs in a process group of its own, so the terminal's Ctrl-C does not stop it while the api and workers
 * still finish their in-flight messages: `ttpush start` stops it last, on every way out it controls. For the
 * one it does not (SIGKILL), a watchdog (a small detached shell loop) stops it once ttpush start and its api
 * and workers are gone, and the next start finds the stale lock and stops a redis-server still left over.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort, redisAnswers as ping } from '@ttpush/store';
import { isAlive, processCommand, waitGone } from './process-info.ts';

export interface EmbeddedRedis {
  url: string;
  dir: string;
  pid: number;
  /** Starts the watchdog that stops this redis-server when `ownerPid` dies (after `waitFor` are gone too). */
  watch(ownerPid: number, waitFor: number[]): void;
  stop(): Promise<void>;
}

// $1: ttpush start's pid, $2: redis-server's, then the api and workers'. Polls once a second; when ttpush start
// is gone, waits (at most 30 s) for its api and workers, which notice it themselves and finish their in-flight
// work against this Redis, then stops redis-server with SIGTERM (it writes its AOF and exits).
const WATCHDOG = `owner=$1; redis=$2; shift 2
while kill -0 "$owner" 2>/dev/null && kill -0 "$redis" 2>/dev/null; do sleep 1; done
kill -0 "$owner" 2>/dev/null && exit 0
n=0
while [ $n -lt 30 ]; do
  alive=0; for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
  [ $alive = 0 ] && break
  sleep 1; n=$((n+1))
done
kill -TERM "$redis" 2>/dev/null
exit 0`;

/**
 * Stops a redis-server that a ttpush start killed without cleaning up left running on its data folder, if `pid`
 * is still one. Resolves with whether one was stopped.
 */
export async function stopLeftoverRedis(pid: number | undefined): Promise<boolean> {
  if (pid === undefined || !isAlive(pid) || !(processCommand(pid) ?? '').includes('redis-server')) return false;
  process.kill(pid, 'SIGTERM');
  if (!(await waitGone(pid, 10_000))) {
    process.kill(pid, 'SIGKILL');
    await waitGone(pid, 5000);
  }
  return true;
}

export function redisServerPath(): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p ? p : undefined;
}

export async function startEmbeddedRedis(dataDir: string): Promise<EmbeddedRedis> {
  const bin = redisServerPath();
  if (!bin) {
    throw new Error(
      'TTPUSH_REDIS_URL is unset and no redis-server binary is on PATH. Either install one ' +
        '(Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or point TTPUSH_REDIS_URL at a running Redis.',
    );
  }
  const dir = resolve(join(dataDir, 'redis'));
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
    // Its own process group: the terminal's SIGINT is for ttpush start, which stops Redis after the workers.
    { stdio: ['ignore', logFd, logFd], detached: true },
  );
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + 10_000;
  while (!(await ping(port))) {
    if (child.exitCode !== null) throw new Error(`redis-server exited at start: see ${join(dir, 'redis.log')}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not answer on port ${port}: see ${join(dir, 'redis.log')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  let watchdog: ChildProcess | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    dir,
    pid: child.pid!,
    watch(ownerPid, waitFor) {
      watchdog = spawn(
        'sh',
        ['-c', WATCHDOG, 'ttpush-redis-watchdog', String(ownerPid), String(child.pid), ...waitFor.map(String)],
        {
          stdio: 'ignore',
          detached: true,
        },
      );
      watchdog.on('error', () => undefined);
      watchdog.unref();
    },
    async stop() {
      if (watchdog?.pid !== undefined && watchdog.exitCode === null) {
        try {
          process.kill(-watchdog.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    },
  };
}
