/**
 * `ttpush <command> [options]`: one entry point for every role and tool.
 * Each command lives in its own module under ./commands and is loaded on demand.
 * `ttpush --version` (-v) prints the version; `ttpush help <command>` a command's options.
 */
import { readFileSync } from 'node:fs';
import { didYouMean } from './args.ts';

const commands: Record<string, { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> }> = {
  start: {
    summary: 'run api + worker (embedded Redis and sandbox when nothing is configured)',
    load: () => import('./commands/start.ts'),
  },
  api: { summary: 'run the HTTP API process', load: () => import('./commands/api.ts') },
  worker: { summary: 'run a worker process', load: () => import('./commands/worker.ts') },
  sandbox: {
    summary: 'run the sandbox TeamTalk servers (db_proxy, route, msg_server)',
    load: () => import('./commands/sandbox.ts'),
  },
  listen: {
    summary: 'log a user into a msg_server and print the messages it receives',
    load: () => import('./commands/listen.ts'),
  },
  send: {
    summary: 'send one message through a running ttpush (key from TTPUSH_API_KEY)',
    load: () => import('./commands/send.ts'),
  },
  batch: {
    summary: 'send a text to a file (or stdin) of recipients as one batch; status, results, cancel, pause, resume',
    load: () => import('./commands/batch.ts'),
  },
  message: {
    summary: 'get or cancel one message by its id',
    load: () => import('./commands/message.ts'),
  },
  healthcheck: {
    summary: "a container health check: this host's api (/readyz) or worker (heartbeat, TeamTalk connected)",
    load: () => import('./commands/healthcheck.ts'),
  },
  admin: {
    summary: 'create, list, rotate and revoke apps and keys; read the audit log (key from TTPUSH_ADMIN_KEY)',
    load: () => import('./commands/admin.ts'),
  },
  doctor: {
    summary: 'check the configured Redis, TeamTalk and workers before a campaign',
    load: () => import('./commands/doctor.ts'),
  },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `usage: ttpush <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'ttpush help <command>' (or 'ttpush <command> --help') for a command's options; 'ttpush --version' for the version.`;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function unknownCommand(name: string): never {
  console.error(`ttpush: unknown command '${name}'${didYouMean(name, Object.keys(commands))}\n\n${usage()}`);
  process.exit(2);
}

let [name, ...argv] = process.argv.slice(2);
if (name === '--version' || name === '-v' || name === 'version') {
  console.log(`ttpush ${version()} (node ${process.version})`);
  process.exit(0);
}
if (name === 'help' && argv[0] !== undefined) {
  // `ttpush help batch` is `ttpush batch --help`.
  if (!commands[argv[0]]) unknownCommand(argv[0]);
  [name, argv] = [argv[0], ['--help']];
}
if (!name || name === '--help' || name === '-h' || name === 'help') {
  console.log(usage());
  process.exit(name ? 0 : 2);
}
const command = commands[name] ?? unknownCommand(name);
const mod = await command.load();
const code = await mod.run(argv);
// Long-running roles have closed everything they own by now; exit rather than wait on a library's stray handle.
process.exitCode = code;
if (['start', 'api', 'worker', 'sandbox'].includes(name)) setImmediate(() => process.exit(code));
