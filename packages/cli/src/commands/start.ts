/**
 * `ttpush start`: api + worker with embedded defaults. When TTPUSH_REDIS_URL is unset it runs a private
 * redis-server on the data folder (TTPUSH_DATA_DIR), which it locks: one ttpush start per folder. When both
 * TeamTalk address lists are unset it runs the sandbox TeamTalk (TTPUSH_SANDBOX_PORTS). The api and the workers
 * run as child processes (`ttpush api`, `ttpush worker`), as they would in production.
 *
 * How it ends (see boot.ts for the children's side):
 * - Ctrl-C (SIGINT to the whole group), SIGTERM, SIGHUP, or its parent gone (the npm that ran it was killed):
 *   one SIGTERM to each child, which finishes or hands back its in-flight messages; then the sandbox and Redis
 *   stop, the lock goes. A second signal more than a second later forces the children to exit at once.
 * - A child that exits on its own: everything else stops, exit 1.
 * - SIGKILL: the children see their IPC channel close and stop by themselves; the sandbox (in this process) is
 *   gone; a watchdog stops redis-server once the children are gone; the next start takes the stale lock over.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSandbox } from '@ttpush/sandbox';
import { createLogger } from '@ttpush/config';
import { UsageError, parseFlags, parseInteger, usageErrorText } from '../args.ts';
import { bootConfig, handleStopRequests } from '../boot.ts';
import { DataDirLockedError, acquireDataDirLock, lockedMessage, type DataDirLock } from '../data-dir-lock.ts';
import { startEmbeddedRedis, stopLeftoverRedis, type EmbeddedRedis } from '../embedded-redis.ts';
import { keptKeys, type KeptKeys } from '../kept-keys.ts';
import { isAlive, parentOf, processCommand } from '../process-info.ts';

const BIN = fileURLToPath(new URL('../../bin/ttpush.mjs', import.meta.url));
/** A child still running this long after its SIGTERM is killed (the worker's own drain deadline is 15 s). */
const CHILD_STOP_MS = 25_000;
/** How often ttpush start looks whether its parent is still there. */
const PARENT_CHECK_MS = 500;

const USAGE = `usage: ttpush start [--workers N] [--new-keys]

Runs the API and N worker processes (default 1). With TTPUSH_REDIS_URL unset it starts a private
redis-server (data in TTPUSH_DATA_DIR/redis, default .ttpush/redis) and locks that folder: one ttpush start
per data folder. With TTPUSH_DB_PROXY_ADDRS and TTPUSH_ROUTE_ADDRS unset it starts the sandbox TeamTalk
(ports: TTPUSH_SANDBOX_PORTS, default 10600,8200,8000).

The development and admin keys it makes (unless TTPUSH_DEV_APP_KEY / TTPUSH_ADMIN_KEY are set) are kept in
TTPUSH_DATA_DIR/keys.json and printed at each start.
  --new-keys   make new ones (the old ones stop working)

Ctrl-C once: the workers finish what they are sending, then everything stops. Ctrl-C again: at once.`;

const OPTIONS = {
  workers: { type: 'string' },
  'new-keys': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}

function keysBanner(kept: KeptKeys | undefined, renewed: boolean): string {
  if (!kept) return '';
  const file = shown(kept.file);
  if (kept.origin === 'kept')
    return `Keys: the same as at the last start, kept in ${file} (new ones: ttpush start --new-keys)\n`;
  return renewed
    ? `Keys: NEW (--new-keys), kept in ${file}: the keys of earlier starts no longer work\n`
    : `Keys: new, kept in ${file} and used again at the next starts (new ones: ttpush start --new-keys)\n`;
}

export async function run(argv: string[]): Promise<number> {
  let workers: number;
  let newKeys: boolean;
  try {
    const flags = parseFlags(argv, OPTIONS);
    if (flags.help) {
      console.log(USAGE);
      return 0;
    }
    workers = flags.workers === undefined ? 1 : parseInteger(flags.workers, '--workers', { min: 1, max: 64 });
    newKeys = flags['new-keys'] === true;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(usageErrorText('start', err, USAGE));
    return 2;
  }
  const config = bootConfig();
  if (!config) return 2;
  const logger = createLogger(config.logLevel, 'ttpush', config.logFormat);
  const dataDir = resolve(config.dataDir);
  const env: NodeJS.ProcessEnv = { ...process.env, TTPUSH_DATA_DIR: dataDir };
  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse())
      await Promise.resolve()
        .then(c)
        .catch(() => undefined);
    cleanups.length = 0;
  };

  // Stop requests are taken from the first moment: a Ctrl-C while Redis or the sandbox start must still
  // stop what started. `stopAsked` resolves on the first one.
  const children: ChildProcess[] = [];
  let failed = false;
  let forced = false;
  let redis: EmbeddedRedis | undefined;
  let wakeStop: () => void = () => undefined;
  const stopAsked = new Promise<void>((r) => (wakeStop = r));
  const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;
  const requests = handleStopRequests(
    ['SIGINT', 'SIGTERM', 'SIGHUP'],
    (reason) => {
      const why = reason === 'SIGINT' ? 'Ctrl-C' : reason;
      const then =
        children.length > 0
          ? 'the workers finish what they are sending, then everything stops (Ctrl-C again to force)'
          : 'stopping';
      process.stderr.write(`\nttpush start: ${why}: ${then}\n`);
      wakeStop();
    },
    (signal) => {
      forced = true;
      process.stderr.write(
        `ttpush start: ${signal === 'SIGINT' ? 'Ctrl-C' : signal} again: forcing everything to stop now\n`,
      );
      // The children take a second SIGTERM as "exit now".
      for (const c of children) if (alive(c)) c.kill('SIGTERM');
      // Should something still hang, Redis is stopped (it syncs its AOF on SIGTERM) and this process ends.
      setTimeout(() => {
        try {
          if (redis) process.kill(redis.pid, 'SIGTERM');
        } catch {
          // already gone
        }
        process.exit(1);
      }, 10_000).unref();
    },
  );
  // `kill <pid of npm start>` ends npm without a word to this process: the parent changing is the sign.
  // Under npm the parent is the `sh -c` of the script, which outlives an npm killed with SIGKILL: then npm is watched.
  const parentPid = process.ppid;
  const npmPid = /^(\/bin\/)?sh -c /.test(processCommand(parentPid) ?? '') ? parentOf(parentPid) : undefined;
  setInterval(() => {
    if (process.ppid !== parentPid) requests.request(`its parent process (pid ${parentPid}) is gone`);
    else if (npmPid !== undefined && npmPid > 1 && !isAlive(npmPid))
      requests.request(`the process that ran it (pid ${npmPid}) is gone`);
  }, PARENT_CHECK_MS).unref();

  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    console.error(
      `ttpush start: cannot create the data folder ${dataDir} (TTPUSH_DATA_DIR): ${(err as Error).message}`,
    );
    return 2;
  }

  let lock: DataDirLock | undefined;
  if (config.embedded.redis) {
    try {
      lock = acquireDataDirLock(dataDir);
    } catch (err) {
      if (!(err instanceof DataDirLockedError)) throw err;
      console.error(lockedMessage(err));
      return 2;
    }
    cleanups.push(() => lock!.release());
    const stale = lock.staleHolder;
    if (stale) {
      logger.warn(
        { stalePid: stale.pid, started: stale.started, dataDir },
        'the data folder was locked by a ttpush start that is gone without cleaning up: taking it over',
      );
      if (await stopLeftoverRedis(stale.redisPid)) {
        logger.warn({ redisPid: stale.redisPid }, 'stopped the redis-server that ttpush start left running');
      }
    }
  }

  let kept: KeptKeys | undefined;
  if (config.devAppKey === undefined || config.adminKey === undefined) {
    try {
      kept = keptKeys(dataDir, { renew: newKeys });
    } catch (err) {
      await cleanup();
      console.error(`ttpush start: cannot keep the keys in ${dataDir}: ${(err as Error).message}`);
      return 2;
    }
    for (const note of kept.notes) console.error(`ttpush start: ${note}`);
  } else if (newKeys) {
    console.error(
      'ttpush start: --new-keys: both keys come from TTPUSH_DEV_APP_KEY and TTPUSH_ADMIN_KEY; none to renew',
    );
  }

  if (config.embedded.redis && !requests.requested) {
    try {
      redis = await startEmbeddedRedis(dataDir);
    } catch (err) {
      await cleanup();
      console.error(`ttpush start: ${(err as Error).message}`);
      return 2;
    }
    const r = redis;
    cleanups.push(() => r.stop());
    env.TTPUSH_REDIS_URL = r.url;
    lock?.update({ redisUrl: r.url, redisPid: r.pid });
    console.error(`ttpush: started a private redis-server at ${r.url} (data in ${shown(r.dir)})`);
  }

  if (config.embedded.teamtalk && !requests.requested) {
    const ports = config.sandboxPorts;
    try {
      const sandbox = await startSandbox({
        host: '127.0.0.1',
        dbPort: ports.db,
        routePort: ports.route,
        msgPort: ports.msg,
        aesKey: config.aesKey,
        dbThreadPool: config.sandboxDbPool,
        logger: logger.child({ role: 'sandbox' }),
      });
      cleanups.push(() => sandbox.close());
      env.TTPUSH_DB_PROXY_ADDRS = `127.0.0.1:${sandbox.dbProxy.port}`;
      env.TTPUSH_ROUTE_ADDRS = `127.0.0.1:${sandbox.route.port}`;
      console.error(
        [
          '',
          '*** No TeamTalk configured (TTPUSH_DB_PROXY_ADDRS / TTPUSH_ROUTE_ADDRS unset): running the SANDBOX TeamTalk.',
          `*** db_proxy_server 127.0.0.1:${sandbox.dbProxy.port}  route_server 127.0.0.1:${sandbox.route.port}  msg_server 127.0.0.1:${sandbox.msgServer.port}`,
          ...(config.sandboxDbPool
            ? [
                `*** db_proxy answers through ${config.sandboxDbPool.threads} worker threads, ${config.sandboxDbPool.storeMs.min}-${config.sandboxDbPool.storeMs.max} ms per request (TTPUSH_SANDBOX_DBPROXY=pool).`,
              ]
            : []),
          '*** Messages go to an in-memory emulation, not to a real TeamTalk. Watch them arrive with:',
          `***   npx ttpush listen --server 127.0.0.1:${sandbox.msgServer.port} --user 2 --password any`,
          '',
        ].join('\n'),
      );
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      await cleanup();
      if (e.code === 'EADDRINUSE') {
        console.error(
          `ttpush start: a sandbox port is busy (${e.message}): stop what listens on ${ports.db}/${ports.route}/${ports.msg}, ` +
            'choose other ports with TTPUSH_SANDBOX_PORTS (e.g. 0,0,0: free ones), or set TTPUSH_DB_PROXY_ADDRS and TTPUSH_ROUTE_ADDRS to a real TeamTalk',
        );
        return 2;
      }
      console.error(`ttpush start: the sandbox did not start: ${e.message}`);
      return 2;
    }
  }
  if (requests.requested) {
    await cleanup();
    return 0;
  }

  const devKey = config.devAppKey ?? kept!.devAppKey;
  env.TTPUSH_DEV_APP_KEY = devKey;
  // The operators' key (console, queue dashboard, /v1/admin, `ttpush admin`).
  const adminKey = config.adminKey ?? kept!.adminKey;
  env.TTPUSH_ADMIN_KEY = adminKey;
  if (config.embedded.redis || config.embedded.teamtalk) env.TTPUSH_HTTP_HOST = config.http.host;

  const spawnRole = (role: string) => {
    // An IPC channel: the child stops by itself when it closes, i.e. when this process is gone, however.
    const child = spawn(process.execPath, [BIN, role], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.push(child);
    child.on('error', (err) => {
      failed = true;
      requests.request(`the ${role} process did not start (${err.message})`);
    });
    child.once('exit', (code, signal) => {
      if (!requests.requested) {
        failed = true;
        requests.request(`the ${role} process exited (${code ?? signal})`);
      }
    });
  };
  spawnRole('api');
  for (let i = 0; i < workers; i++) spawnRole('worker');
  const pids = children.map((c) => c.pid).filter((p): p is number => p !== undefined);
  redis?.watch(process.pid, pids);

  const where = `http://${config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host}:${config.http.port}`;
  lock?.update({ url: where, dbProxyAddrs: env.TTPUSH_DB_PROXY_ADDRS, routeAddrs: env.TTPUSH_ROUTE_ADDRS });
  // The development and admin keys go to the terminal at each start, never into the structured log.
  process.stderr.write(
    `\nttpush is starting at ${where}  (data folder ${shown(dataDir)}, pid ${process.pid})\n` +
      (config.devAppKey
        ? 'Development app key: the value of TTPUSH_DEV_APP_KEY\n  export TTPUSH_API_KEY="$TTPUSH_DEV_APP_KEY"\n'
        : `Development app key (may do everything):\n  export TTPUSH_API_KEY=${devKey}\n`) +
      (config.adminKey
        ? 'Admin key (console, ttpush admin): the value of TTPUSH_ADMIN_KEY\n'
        : `Admin key (console, ttpush admin; keep it to operators):\n  export TTPUSH_ADMIN_KEY=${adminKey}\n`) +
      keysBanner(kept, newKeys) +
      'Stop: Ctrl-C (the workers finish what they are sending; a second Ctrl-C stops at once)\n\n',
  );

  await stopAsked;
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((done) => {
          if (!alive(c)) return done();
          c.once('exit', () => done());
          c.kill('SIGTERM');
          setTimeout(() => {
            if (alive(c)) c.kill('SIGKILL');
          }, CHILD_STOP_MS).unref();
        }),
    ),
  );
  await cleanup();
  process.stderr.write(forced ? 'ttpush start: stopped (forced)\n' : 'ttpush start: stopped\n');
  return failed || forced ? 1 : 0;
}
