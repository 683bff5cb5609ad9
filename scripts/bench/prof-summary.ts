/**
 * Where a profiled process spent its time: reads the V8 CPU profiles a bench run wrote with BENCH_PROF_DIR=DIR and
 * prints, per profile, the share of samples by package (self time, attributed to the file of the function that was
 * running) and the functions with the most self time.
 *
 *   BENCH_PROF_DIR=/tmp/prof BENCH_SECONDS=5 npm run bench -- --only singles
 *   node --import tsx scripts/bench/prof-summary.ts /tmp/prof [top N]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** A short place name: the workspace package or npm package of a script url, or a V8/Node category. */
function place(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  const ws = /\/(apps|packages)\/([^/]+)\//.exec(url);
  if (ws) return `${ws[1]}/${ws[2]}`;
  if (url.startsWith('node:')) return url.split('/')[0]!;
  return url.replace(/^file:\/\//, '');
}

function summarize(file: string, top: number): void {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  let total = 0;
  const places = new Map<string, number>();
  const fns = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const { functionName, url, lineNumber } = n.callFrame;
    total += us;
    const pl = place(url, functionName);
    places.set(pl, (places.get(pl) ?? 0) + us);
    const name = `${functionName || '(anonymous)'} ${pl}${url ? `:${lineNumber + 1}` : ''}`;
    fns.set(name, (fns.get(name) ?? 0) + us);
  }
  const idle = places.get('(idle)') ?? 0;
  const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
  console.log(`\n${file}: ${(total / 1e6).toFixed(1)} s sampled, ${pct(total - idle)} busy`);
  console.log('  by place (self time):');
  for (const [pl, us] of [...places].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`    ${pct(us)}  ${pl}`);
  console.log('  functions (self time):');
  for (const [fn, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`    ${pct(us)}  ${fn}`);
}

const [dir, n] = process.argv.slice(2);
if (!dir) {
  console.error('usage: prof-summary.ts DIR [top N]');
  process.exit(2);
}
for (const f of readdirSync(dir, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.cpuprofile'))
  .sort())
  summarize(join(dir, f), Number(n ?? 25));
