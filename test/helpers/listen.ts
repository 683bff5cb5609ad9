/** Runs `ttpush listen` as a real child process and collects the JSON lines it prints. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../packages/cli/bin/ttpush.mjs', import.meta.url));

export interface Listener {
  lines: any[];
  stderr: string[];
  exited: Promise<number | null>;
  /** Resolves once `n` messages arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<any[]>;
  stop(): Promise<void>;
}

export async function listen(msgPort: number, user: number, args: string[] = []): Promise<Listener> {
  const child = spawn(
    process.execPath,
    [BIN, 'listen', '--server', `127.0.0.1:${msgPort}`, '--user', String(user), '--password', 'x', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: any[] = [];
  const stderr: string[] = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim()) lines.push(JSON.parse(line));
    }
  });
  child.stderr.on('data', (d: Buffer) => stderr.push(d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  // Logged in once it says so on stderr.
  const deadline = Date.now() + 15_000;
  while (!/logged in/i.test(stderr.join(''))) {
    if (child.exitCode !== null) throw new Error(`listen exited: ${stderr.join('')}`);
    if (Date.now() > deadline) throw new Error(`listen did not log in: ${stderr.join('')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    lines,
    stderr,
    exited,
    async waitFor(n, timeoutMs = 20_000) {
      const end = Date.now() + timeoutMs;
      while (lines.length < n) {
        if (Date.now() > end) throw new Error(`got ${lines.length} of ${n} messages: ${stderr.join('')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return lines;
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
