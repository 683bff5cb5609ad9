/**
 * Runs the real `ttpush` command as a child process and collects its output, for tests that
 * check exit codes, stdout and stderr exactly as a user or a script sees them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '@ttpush/testkit';

export const ttpushBin = join(repoRoot, 'packages/cli/bin/ttpush.mjs');

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export class TtpushProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<Exit>;
  private listeners = new Set<() => void>();

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [ttpushBin, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      this.stdout += d;
      for (const l of this.listeners) l();
    });
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
      for (const l of this.listeners) l();
    });
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code, signal) => {
        for (const l of this.listeners) l();
        resolve({ code, signal });
      });
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves once stdout or stderr (as chosen) matches; rejects if the process exits first or after `ms`. */
  waitFor(pattern: RegExp, stream: 'stdout' | 'stderr' = 'stdout', ms = 20_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = this[stream].match(pattern);
        if (match) return done(() => resolve(match));
        if (!this.running)
          return done(() => reject(new Error(`exited before ${pattern} on ${stream}\n${this.dump()}`)));
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`no ${pattern} on ${stream} in ${ms} ms\n${this.dump()}`))),
        ms,
      );
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        settle();
      };
      this.listeners.add(check);
      check();
    });
  }

  /** Waits for the exit, killing the process if it has not exited within `ms`. */
  async exit(ms = 30_000): Promise<Exit> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), ms);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends a signal if the process still runs. */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** Test teardown: SIGKILL unless already gone, then wait for the exit. */
  async kill(): Promise<void> {
    this.signal('SIGKILL');
    await this.exited;
  }

  dump(): string {
    return `--- stdout ---\n${this.stdout}--- stderr ---\n${this.stderr}`;
  }
}

/** Starts `ttpush ...args`. */
export function ttpush(...args: string[]): TtpushProcess {
  return new TtpushProcess(args);
}
