/**
 * `ttpush start` as a real process tree (start → api, worker, redis-server, watchdog), on free ports and a data
 * folder of the test's own, with what it prints kept, and the processes it leaves (or not) looked up in /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { fileURLToPath } from 'node:url';
import { freePort } from '@ttpush/testkit';

export const BIN = fileURLToPath(new URL('../../packages/cli/bin/ttpush.mjs', import.meta.url));
export const REPO = fileURLToPath(new URL('../..', import.meta.url));

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for `check` to return a value other than undefined/false, or throws `what` at the deadline. */
export async function waitFor<T>(
  what: () => string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out: ${what()}`);
    await sleep(50);
  }
}

export interface StartOptions {
  dataDir: string;
  port?: number;
  env?: Record<string, string>;
  args?: string[];
  /** Run `npm start` in the repository instead of the ttpush binary (the tree is then npm → sh → ttpush start). */
  viaNpm?: boolean;
}

export class StartedTtpush {
  private text = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    readonly dataDir: string,
  ) {
    const keep = (d: Buffer) => (this.text += d.toString());
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  }

  /** Spawns it in a process group of its own (as a terminal's job is), so a test can signal the whole group. */
  static spawn(opts: StartOptions & { port: number }): StartedTtpush {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('TTPUSH_')) env[k] = v;
    Object.assign(env, {
      TTPUSH_DATA_DIR: opts.dataDir,
      TTPUSH_HTTP_PORT: String(opts.port),
      TTPUSH_SANDBOX_PORTS: '0,0,0',
      TTPUSH_LOG_FORMAT: 'json',
      TTPUSH_LOG_LEVEL: 'info',
      ...opts.env,
    });
    const [cmd, args] = opts.viaNpm
      ? ['npm', ['start', '--silent', '--', ...(opts.args ?? [])]]
      : [process.execPath, [BIN, 'start', ...(opts.args ?? [])]];
    const child = spawn(cmd, args, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    return new StartedTtpush(child, opts.port, opts.dataDir);
  }

  /** Spawns it and waits until /readyz answers 200 (a worker connected to TeamTalk). */
  static async start(opts: StartOptions): Promise<StartedTtpush> {
    const s = StartedTtpush.spawn({ ...opts, port: opts.port ?? (await freePort()) });
    try {
      await s.waitReady();
    } catch (err) {
      await s.stop('SIGKILL');
      throw err;
    }
    return s;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  output(): string {
    return this.text;
  }

  async waitReady(timeoutMs = 40_000): Promise<void> {
    await waitFor(
      () => `ttpush start not ready:\n${this.text}`,
      async () => {
        if (this.child.exitCode !== null) throw new Error(`ttpush start exited ${this.child.exitCode}:\n${this.text}`);
        try {
          return (await fetch(`${this.url}/readyz`)).ok;
        } catch {
          return false;
        }
      },
      timeoutMs,
    );
  }

  /** Waits until what it printed matches `re`; returns the match. */
  waitOutput(re: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    return waitFor(
      () => `no ${re} in:\n${this.text}`,
      () => this.text.match(re) ?? undefined,
      timeoutMs,
    );
  }

  /** The development key it printed last (`export TTPUSH_API_KEY=...`). */
  apiKey(): string {
    const all = [...this.text.matchAll(/export TTPUSH_API_KEY=(\S+)/g)];
    if (all.length === 0) throw new Error(`no key printed:\n${this.text}`);
    return all[all.length - 1]![1]!;
  }

  /** Signals ttpush start alone (or, with `group`, its whole process group, as a terminal's Ctrl-C does). */
  signal(signal: NodeJS.Signals, group = false): void {
    process.kill(group ? -this.pid : this.pid, signal);
  }

  /** Stops it (SIGTERM by default) and waits for its exit; whatever is left of its tree is killed. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const tree = descendants(this.pid);
    if (this.child.exitCode === null && this.child.signalCode === null) this.signal(signal);
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      this.exited,
      new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), 60_000))),
    ]);
    clearTimeout(timer);
    for (const pid of [this.pid, ...tree]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone, as it should be
      }
    }
    return result ?? (await this.exited);
  }
}

function readStat(pid: number): { ppid: number; state: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0]!, ppid: Number(rest[1]) };
  } catch {
    return undefined;
  }
}

/** Every process below `pid` (children, their children, ...), from /proc. */
export function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) parentOf.set(Number(name), s.ppid);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parentOf) {
      if (parent === p) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return out;
}

/** Whether a process runs (a zombie, waiting to be reaped, does not). */
export function running(pid: number): boolean {
  const s = readStat(pid);
  return s !== undefined && s.state !== 'Z';
}

/** What a process runs, for messages. */
export function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '?';
  }
}

/** Whether something accepts connections on 127.0.0.1:port. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
