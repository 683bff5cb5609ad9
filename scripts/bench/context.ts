/**
 * What the bench's sections share: the report, the load settings, the main stack (api + worker + Redis against the
 * sandbox in its default mode), the baseline servers, and measurements made once and used by several sections.
 */
import { fileURLToPath } from 'node:url';
import { Report } from './report.ts';
import { spawnNode, startStack, stop, waitFor, type Proc, type Stack } from './stack.ts';

/** A baseline server of the bench's own: its port and its process (for its CPU time). */
export interface Server {
  port: number;
  pid: number;
  proc: Proc;
}

/** Spawns `node --import tsx <script> ...args` and waits for its `{"port":N}` line. */
export async function startServer(name: string, script: string, args: string[] = []): Promise<Server> {
  const proc = spawnNode(name, ['--import', 'tsx', fileURLToPath(new URL(script, import.meta.url)), ...args]);
  await waitFor(() => proc.output.join('').includes('"port"'), name);
  const line = proc.output
    .join('')
    .split('\n')
    .find((l) => l.startsWith('{"port"'))!;
  return { port: (JSON.parse(line) as { port: number }).port, pid: proc.child.pid!, proc };
}

export class BenchContext {
  readonly report = new Report();
  private readonly memo = new Map<string, Promise<unknown>>();
  private readonly closers: (() => Promise<void>)[] = [];

  constructor(
    /** Duration of the sustained loads. */
    readonly seconds: number,
    readonly connections: number,
  ) {}

  /** `fn()` once per key: a measurement several sections compare against. */
  once<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let p = this.memo.get(key) as Promise<T> | undefined;
    if (!p) {
      p = fn();
      this.memo.set(key, p);
    }
    return p;
  }

  main(): Promise<Stack> {
    return this.once('main stack', async () => {
      const stack = await startStack();
      this.closers.push(() => stack.close());
      return stack;
    });
  }

  /** The bare Express 5 baseline. */
  bare(): Promise<Server> {
    return this.once('bare express', async () => {
      const s = await startServer('bare-express', './bare-express.ts');
      this.closers.push(() => stop(s.proc));
      return s;
    });
  }

  /** The raw node:http + TeamTalk sender, against the main stack's sandbox. */
  rawSender(): Promise<Server> {
    return this.once('raw sender', async () => {
      const { ports } = await this.main();
      const s = await startServer('raw-sender', './raw-sender.ts', [String(ports.db), String(ports.route)]);
      this.closers.push(() => stop(s.proc));
      return s;
    });
  }

  /** Stops whatever was started, the last first. */
  async close(): Promise<void> {
    for (const c of this.closers.reverse()) await c();
    this.closers.length = 0;
    this.memo.clear();
  }
}
