/**
 * `ttpush sandbox`: runs the three sandbox TeamTalk servers (db_proxy_server, route_server,
 * msg_server) in this process and prints where they listen. Logs go to stderr (pino), the
 * addresses to stdout, so scripts can read them.
 */
import pino, { type Logger } from 'pino';
import { startSandbox, type Sandbox } from '@ttpush/sandbox';
import { UsageError, usageErrorText } from '../args.ts';
import { parseSandboxArgs, sandboxUsage, type SandboxCommandOptions } from '../sandbox/options.ts';
import { GroupsFileError, readGroupsFile } from '../sandbox/groups-file.ts';
import { startFailureText } from '../sandbox/start-failure.ts';

/** How long the first SIGINT/SIGTERM waits for the servers to close; a second signal forces the exit. */
const CLOSE_DEADLINE_MS = 10_000;

export async function run(argv: string[]): Promise<number> {
  let options: SandboxCommandOptions | 'help';
  try {
    options = parseSandboxArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(usageErrorText('sandbox', err, sandboxUsage));
    return 2;
  }
  if (options === 'help') {
    await write(`${sandboxUsage}\n`);
    return 0;
  }
  let groups: Record<string, number[]> = {};
  if (options.groupsFile !== undefined) {
    try {
      groups = await readGroupsFile(options.groupsFile);
    } catch (err) {
      if (!(err instanceof GroupsFileError)) throw err;
      process.stderr.write(`ttpush sandbox: ${err.message}\n`);
      return 2;
    }
  }
  const logger = pino({ level: options.logLevel, name: 'sandbox' }, pino.destination({ dest: 2, sync: true }));
  return serve(options, groups, logger);
}

function write(text: string): Promise<void> {
  return new Promise((resolve) => process.stdout.write(text, () => resolve()));
}

async function serve(
  options: SandboxCommandOptions,
  groups: Record<string, number[]>,
  logger: Logger,
): Promise<number> {
  // Signals are taken before the servers start, so a signal during the start still closes them.
  let signalled: NodeJS.Signals | undefined;
  let wake: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (wake = resolve));
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      logger.warn({ signal }, 'second signal: exiting without waiting for the servers to close');
      process.exit(1);
    }
    signalled = signal;
    wake();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    let sandbox: Sandbox;
    try {
      sandbox = await startSandbox({
        host: options.host,
        dbPort: options.dbPort,
        routePort: options.routePort,
        msgPort: options.msgPort,
        aesKey: options.aesKey,
        groups,
        reorderDelayMs: options.reorderDelayMs,
        realistic: options.realistic,
        dbThreadPool: options.dbThreadPool,
        logger,
      });
    } catch (err) {
      process.stderr.write(`ttpush sandbox: ${startFailureText(err, options)}\n`);
      return 2;
    }
    // In thread-pool mode the pool's threads are the threads: `threads` is ignored.
    if (options.parkedThreads > 0) sandbox.dbProxy.setFault({ threads: 4, parkedThreads: options.parkedThreads });
    const ports = { db: sandbox.dbProxy.port, route: sandbox.route.port, msg: sandbox.msgServer.port };
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    let out =
      `db_proxy_server listening on ${host}:${ports.db}\n` +
      `route_server listening on ${host}:${ports.route}\n` +
      `msg_server listening on ${host}:${ports.msg}\n`;
    if (options.json) {
      out += `${JSON.stringify({ host: options.host, db_port: ports.db, route_port: ports.route, msg_port: ports.msg, groups: Object.keys(groups).length })}\n`;
    }
    await write(out);
    await stopped;
    logger.info({ signal: signalled }, 'stopping the sandbox');
    const deadline = setTimeout(() => {
      logger.error(`the servers did not close within ${CLOSE_DEADLINE_MS / 1000} s: exiting anyway`);
      process.exit(1);
    }, CLOSE_DEADLINE_MS);
    deadline.unref();
    try {
      await sandbox.close();
    } finally {
      clearTimeout(deadline);
    }
    logger.info('sandbox stopped');
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
