#!/usr/bin/env node
// The repository's test command: checks generated code, types and lint, then runs every
// *.test.ts under packages/*/test, apps/*/test and test/ with Node's built-in runner (through tsx).
//   node scripts/test.mjs            everything
//   node scripts/test.mjs unit       only packages/*/test and apps/*/test, no static checks
//   node scripts/test.mjs FILE...    just those test files
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);

function find(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

function run(cmd, cmdArgs) {
  console.log(`\n$ ${cmd} ${cmdArgs.join(' ')}`);
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`\nfailed: ${cmd} ${cmdArgs.join(' ')} (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
}

let files;
const unitOnly = args[0] === 'unit';
if (args.length > 0 && !unitOnly) {
  files = args;
} else {
  const roots = ['packages', 'apps'].flatMap((d) =>
    existsSync(join(root, d)) ? readdirSync(join(root, d)).map((p) => join(root, d, p, 'test')) : [],
  );
  if (!unitOnly) roots.push(join(root, 'test'));
  files = roots.flatMap((d) => find(d)).sort();
  if (!unitOnly) {
    run(process.execPath, ['scripts/gen-proto.mjs', '--check']);
    run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json']);
    run(process.execPath, ['node_modules/eslint/bin/eslint.js', '.']);
    run(process.execPath, ['node_modules/prettier/bin/prettier.cjs', '--check', '--log-level', 'warn', '.']);
  }
}
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
run(process.execPath, [
  '--import',
  'tsx',
  '--test',
  '--test-reporter=spec',
  `--test-concurrency=${process.env.TTPUSH_TEST_CONCURRENCY ?? 2}`,
  // Per test file (each runs in a process of its own): the crash and cluster files take minutes when several test runs
  // share the machine.
  '--test-timeout=900000',
  ...files,
]);
