/**
 * CPU time of processes from /proc/<pid>/stat (Linux): user + system time of the process itself (its children are
 * not counted), in microseconds. Clock ticks are 1/CLK_TCK s (10 ms at the usual 100 Hz): a load should use a few
 * hundred ticks or more for its figure to mean something.
 */
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const TICK_US = 1e6 / (Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100);

/** utime + stime of `pid` in µs; 0 when the process is gone. */
function cpuUsOf(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0;
  }
  // Fields after the command name (which may hold spaces, closed by the last ')'): state is field 3, utime 14, stime 15.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_US;
}

/** CPU µs of each of `pids` so far. */
export function cpuUsEach(pids: readonly number[]): number[] {
  return pids.map(cpuUsOf);
}

/** Total CPU µs of `pids` so far. */
export function cpuUs(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + cpuUsOf(pid), 0);
}

/** Runs `fn` and returns its result with the CPU µs `pids` used meanwhile. */
export async function withCpu<T>(pids: readonly number[], fn: () => Promise<T>): Promise<{ result: T; cpuUs: number }> {
  const before = cpuUs(pids);
  const result = await fn();
  return { result, cpuUs: cpuUs(pids) - before };
}
