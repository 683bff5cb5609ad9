/**
 * `ttpush doctor`: checks a deployment before a campaign, with the configuration `ttpush start` reads:
 * Redis (reachable, version, persistence, memory policy, cluster), each db_proxy_server and route_server
 * address, the workers alive, the webhook allow-list, the admin key. One line per check (✓ ok, ! warning,
 * ✗ failure, with the fix); `--json` for scripts. Exit 0 all good, 1 a warning, 2 a failure (or a
 * configuration or usage error). Every network step has a deadline: a dead address cannot hang it.
 */
import { bootConfig } from '../boot.ts';
import { parseFlags, parseInteger, parseSeconds, UsageError, usageErrorText } from '../args.ts';
import { exitCodeOf, formatCheck, ok, summaryLine, type Check } from '../doctor/check.ts';
import { configChecks } from '../doctor/config-checks.ts';
import { redisChecks, workerChecks } from '../doctor/redis-checks.ts';
import { dbProxyChecks, routeChecks } from '../doctor/teamtalk-checks.ts';
import { runningStart } from '../doctor/running-start.ts';

export const doctorUsage = `usage: ttpush doctor [--probe-pair A,B] [--timeout S] [--json]

Checks the deployment ttpush is configured for (the same variables as ttpush start): Redis, each
db_proxy_server and route_server address, the workers alive, the webhook allow-list, the admin key.
With Redis or TeamTalk unset, a ttpush start running on the data folder (TTPUSH_DATA_DIR) is checked:
its private Redis, its TeamTalk addresses and the admin key it keeps.

options:
  --probe-pair A,B  two user ids who have exchanged a message: their conversation is read back
                    (MSG_GET_LATEST_MSG_ID, MSG_LIST) and its newest text decrypted with TTPUSH_AES_KEY
  --timeout S       deadline of each TCP connect and request (default 3); a server's heartbeat is
                    waited for up to 8 s (TeamTalk sends one after 5 s of silence)
  --json            print {"status", "exit_code", "checks": [{status, name, detail, fix}]} on stdout
  -h, --help        this text

exit codes: 0 all good, 1 a warning, 2 a failure (or a configuration or usage error)`;

const OPTIONS = {
  'probe-pair': { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** TeamTalk sends IMHeartBeat after 5 s of silence and checks every second: 8 s leaves room for a busy host. */
const HEARTBEAT_WAIT_MS = 8000;

export interface DoctorOptions {
  probePair: [number, number] | undefined;
  timeoutMs: number;
  json: boolean;
}

export function parseDoctorArgs(argv: string[]): DoctorOptions | 'help' {
  const values = parseFlags(argv, OPTIONS);
  if (values.help) return 'help';
  let probePair: [number, number] | undefined;
  const raw = values['probe-pair'];
  if (raw !== undefined) {
    const ids = raw.split(',');
    if (ids.length !== 2) throw new UsageError(`--probe-pair takes two user ids, A,B, got '${raw}'`);
    const range = { min: 1, max: 4294967295 };
    probePair = [parseInteger(ids[0]!, '--probe-pair', range), parseInteger(ids[1]!, '--probe-pair', range)];
    if (probePair[0] === probePair[1]) throw new UsageError('--probe-pair takes two different users');
  }
  const timeoutMs = values.timeout === undefined ? 3000 : parseSeconds(values.timeout, '--timeout');
  if (timeoutMs > 60_000) throw new UsageError(`--timeout is at most 60 seconds, got '${values.timeout}'`);
  return { probePair, timeoutMs, json: values.json ?? false };
}

export async function run(argv: string[]): Promise<number> {
  let options: DoctorOptions | 'help';
  try {
    options = parseDoctorArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(usageErrorText('doctor', err, doctorUsage));
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${doctorUsage}\n`);
    return 0;
  }
  let config = bootConfig();
  if (!config) return 2;
  const running = runningStart(config);
  let note: Check | undefined;
  if (running) {
    Object.assign(process.env, running.env);
    config = bootConfig();
    if (!config) return 2;
    note = ok(
      'ttpush start',
      `checking the ttpush start running on ${config.dataDir} (pid ${running.pid}): ${Object.keys(running.env)
        .filter((k) => k !== 'TTPUSH_ADMIN_KEY')
        .map((k) => `${k}=${running.env[k]}`)
        .join(' ')}`,
    );
  }
  const tt = { timeoutMs: options.timeoutMs, heartbeatWaitMs: HEARTBEAT_WAIT_MS, probePair: options.probePair };
  const groups = await Promise.all([
    Promise.resolve(configChecks(config)),
    redisChecks(config, options.timeoutMs),
    workerChecks(config, options.timeoutMs),
    dbProxyChecks(config, tt),
    routeChecks(config, tt),
  ]);
  const checks: Check[] = [...(note ? [note] : []), ...groups.flat()];
  const code = exitCodeOf(checks);
  if (options.json) {
    const status = code === 0 ? 'ok' : code === 1 ? 'warn' : 'fail';
    process.stdout.write(`${JSON.stringify({ status, exit_code: code, checks })}\n`);
  } else {
    process.stdout.write(`${checks.map(formatCheck).join('\n')}\n${summaryLine(checks)}\n`);
  }
  return code;
}
