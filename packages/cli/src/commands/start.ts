/**
 * `ttpush start`: api + worker with embedded defaults. When TTPUSH_REDIS_URL is unset it runs a private
 * redis-server; when both TeamTalk address lists are unset it runs the sandbox TeamTalk on
 * 127.0.0.1:10600/8200/8000. The api and the worker run as child processes (`ttpush api`, `ttpush worker`),
 * as they would in production.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startSandbox } from '@ttpush/sandbox';
import { createLogger } from '@ttpush/core';
import { bootConfig, onShutdown } from '../boot.ts';
import { startEmbeddedRedis, type EmbeddedRedis } from '../embedded-redis.ts';

const BIN = fileURLToPath(new URL('../../bin/ttpush.mjs', import.meta.url));
const SANDBOX_PORTS = { db: 10600, route: 8200, msg: 8000 };

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    console.log(
      'usage: ttpush start [--workers N]\n\nRuns the API and N worker processes (default 1). With TTPUSH_REDIS_URL unset it starts a private\nredis-server (data in .ttpush/redis); with TTPUSH_DB_PROXY_ADDRS and TTPUSH_ROUTE_ADDRS unset it starts the sandbox TeamTalk.',
    );
    return 0;
  }
  const wi = argv.indexOf('--workers');
  const workers = wi >= 0 ? Number(argv[wi + 1]) : 1;
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    console.error('ttpush start: --workers takes a whole number from 1 to 64');
    return 2;
  }
  const config = bootConfig();
  if (!config) return 2;
  const logger = createLogger(config.logLevel, 'ttpush', config.logFormat);
  const env: NodeJS.ProcessEnv = { ...process.env };
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };

  let redis: EmbeddedRedis | undefined;
  if (config.embedded.redis) {
    try {
      redis = await startEmbeddedRedis('.ttpush');
    } catch (err) {
      console.error(`ttpush start: ${(err as Error).message}`);
      return 2;
    }
    cleanups.push(() => redis!.stop());
    env.TTPUSH_REDIS_URL = redis.url;
    console.error(`ttpush: started a private redis-server at ${redis.url} (data in ${redis.dir})`);
  }

  if (config.embedded.teamtalk) {
    try {
      const sandbox = await startSandbox({
        host: '127.0.0.1',
        dbPort: SANDBOX_PORTS.db,
        routePort: SANDBOX_PORTS.route,
        msgPort: SANDBOX_PORTS.msg,
        aesKey: config.aesKey,
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
          `ttpush start: a sandbox port is busy (${e.message}): stop what listens on 10600/8200/8000, or set TTPUSH_DB_PROXY_ADDRS and TTPUSH_ROUTE_ADDRS to a real TeamTalk`,
        );
        return 2;
      }
      console.error(`ttpush start: the sandbox did not start: ${e.message}`);
      return 2;
    }
  }

  const devKey = config.devAppKey ?? `dev_${randomBytes(18).toString('base64url')}`;
  env.TTPUSH_DEV_APP_KEY = devKey;
  // The operators' key (console, queue dashboard, /v1/admin, `ttpush admin`): a random one unless given.
  const adminKey = config.adminKey ?? `adm_${randomBytes(24).toString('base64url')}`;
  env.TTPUSH_ADMIN_KEY = adminKey;
  if (config.embedded.redis || config.embedded.teamtalk) env.TTPUSH_HTTP_HOST = config.http.host;

  const children: ChildProcess[] = [];
  let failed = false;
  const spawnRole = (role: string) => {
    const child = spawn(process.execPath, [BIN, role], { env, stdio: ['ignore', 'inherit', 'inherit'] });
    children.push(child);
    child.once('exit', (code, signal) => {
      if (!stopping) {
        failed = true;
        console.error(`ttpush start: the ${role} process exited (${code ?? signal}); stopping everything`);
        process.kill(process.pid, 'SIGTERM');
      }
    });
  };
  let stopping = false;
  spawnRole('api');
  for (let i = 0; i < workers; i++) spawnRole('worker');

  // The development and admin keys go to the terminal once, never into the structured log.
  const where = `http://${config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host}:${config.http.port}`;
  process.stderr.write(
    `\nttpush is starting at ${where}\n` +
      (config.devAppKey
        ? 'Development app key: the value of TTPUSH_DEV_APP_KEY\n'
        : `Development app key (may do everything): ${devKey}\n`) +
      `  export TTPUSH_API_KEY=${config.devAppKey ? '"$TTPUSH_DEV_APP_KEY"' : devKey}\n` +
      (config.adminKey
        ? 'Admin key (console, ttpush admin): the value of TTPUSH_ADMIN_KEY\n'
        : `Admin key (console, ttpush admin; keep it to operators): ${adminKey}\n  export TTPUSH_ADMIN_KEY=${adminKey}\n`) +
      '\n',
  );

  await onShutdown(async () => {
    stopping = true;
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGTERM');
            setTimeout(() => c.kill('SIGKILL'), 20_000).unref();
          }),
      ),
    );
    await cleanup();
  });
  return failed ? 1 : 0;
}
