/**
 * The architecture, checked: every workspace's imports against its declared dependencies, and the layering of
 * docs/architecture.md. `npm run arch` prints the workspace import graph and any violation (exit 1 on one);
 * test/architecture.test.ts runs the same check in the suite.
 *
 * Imports are read by TypeScript's scanner from every .ts/.mjs file under a workspace's src/, test/ and bin/ (static
 * imports, `export … from`, dynamic `import('…')`): a bare specifier names a package (`@scope/name` or `name`), `node:` a
 * builtin. src/ and bin/ count as the product; test/ may also use devDependencies and the root's.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

export interface Workspace {
  /** Folder relative to the root, e.g. `packages/pdu`. */
  dir: string;
  name: string;
  deps: Set<string>;
  devDeps: Set<string>;
  /** Package → files of src/ and bin/ importing it. */
  productImports: Map<string, string[]>;
  /** Package → files of test/ importing it. */
  testImports: Map<string, string[]>;
  /** Relative imports that leave the workspace's folder (`file → target`): a dependency no package.json shows. */
  escapes: string[];
}

/** What a workspace's product code may not import (by package name; `node:x` for builtins), and why. */
interface Rule {
  from: string;
  never: string[];
  because: string;
  /** Also checked in test/. */
  tests?: boolean;
}

const RULES: Rule[] = [
  {
    from: '@ttpush/pdu',
    never: ['ioredis', 'bullmq', 'express', 'node:http', '@ttpush/sandbox', '@ttpush/store', '@ttpush/contract'],
    because: 'the wire layer knows TeamTalk only: no Redis, HTTP, BullMQ or sandbox',
  },
  {
    from: '@ttpush/contract',
    never: ['ioredis', 'bullmq', 'express', 'node:fs', 'node:net', 'node:http', 'node:dns', 'node:dns/promises'],
    because: 'the contract is types, names and the key layout: no I/O',
  },
  {
    from: '@ttpush/store',
    never: ['express', '@ttpush/api', '@ttpush/worker', '@ttpush/pdu', '@ttpush/cli', '@ttpush/sandbox'],
    because: 'the store is Redis only, below both api and worker',
  },
  {
    from: '@ttpush/api',
    never: ['@ttpush/worker'],
    because: 'api and worker meet only through contract and store',
    tests: true,
  },
  {
    from: '@ttpush/worker',
    never: ['@ttpush/api', 'express'],
    because: 'api and worker meet only through contract and store',
    tests: true,
  },
  { from: '@ttpush/client', never: ['@ttpush/*'], because: 'the client is published alone: fetch only' },
  { from: '@ttpush/config', never: ['@ttpush/*'], because: 'configuration is read before anything else' },
];

/** No product code imports these (the cli may start the sandbox: `ttpush start`, `ttpush sandbox`). */
const TEST_ONLY = ['@ttpush/testkit'];
const SANDBOX_USERS = new Set(['@ttpush/cli']);

const BUILTINS = new Set(builtinModules);

function files(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'gen') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else if (/\.(ts|mts|mjs|js)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The package a specifier names; null for relative paths. Builtins come back as `node:x`. */
export function packageOf(spec: string): string | null {
  if (spec.startsWith('.') || spec.startsWith('/')) return null;
  if (spec.startsWith('node:')) return spec;
  if (BUILTINS.has(spec)) return `node:${spec}`;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

function importsOf(root: string, paths: string[], escapes?: { dir: string; out: string[] }): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const p of paths) {
    // TypeScript's own scanner: static imports, `export … from`, `import(…)`, `require(…)`; never a string's text.
    const { importedFiles } = ts.preProcessFile(readFileSync(p, 'utf8'), true, true);
    for (const { fileName } of importedFiles) {
      const pkg = packageOf(fileName);
      if (!pkg) {
        const target = resolve(dirname(p), fileName);
        if (escapes && !target.startsWith(escapes.dir + sep)) {
          escapes.out.push(`${relative(root, p)} → ${relative(root, target)}`);
        }
        continue;
      }
      const list = out.get(pkg) ?? [];
      const rel = relative(root, p);
      if (!list.includes(rel)) list.push(rel);
      out.set(pkg, list);
    }
  }
  return out;
}

export function readWorkspaces(root: string): Workspace[] {
  const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] };
  const dirs = rootPkg.workspaces.flatMap((glob) => {
    const base = glob.replace(/\/\*$/, '');
    return existsSync(join(root, base)) ? readdirSync(join(root, base)).map((d) => `${base}/${d}`) : [];
  });
  return dirs
    .filter((d) => existsSync(join(root, d, 'package.json')))
    .map((dir) => {
      const escapes = { dir: resolve(root, dir), out: [] as string[] };
      const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as {
        name: string;
        dependencies?: Record<string, string>;
        devDependencies?: Record<string, string>;
      };
      return {
        dir,
        name: pkg.name,
        deps: new Set(Object.keys(pkg.dependencies ?? {})),
        devDeps: new Set(Object.keys(pkg.devDependencies ?? {})),
        productImports: importsOf(root, [...files(join(root, dir, 'src')), ...files(join(root, dir, 'bin'))], escapes),
        testImports: importsOf(root, files(join(root, dir, 'test')), escapes),
        escapes: escapes.out,
      };
    });
}

function matches(pattern: string, pkg: string): boolean {
  return pattern.endsWith('/*') ? pkg.startsWith(pattern.slice(0, -1)) : pattern === pkg;
}

/** Every violation, one line each: empty when the architecture holds. */
export function checkArchitecture(root: string): string[] {
  const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    devDependencies?: Record<string, string>;
  };
  const rootDev = new Set(Object.keys(rootPkg.devDependencies ?? {}));
  const out: string[] = [];
  for (const ws of readWorkspaces(root)) {
    const self = (pkg: string) => pkg === ws.name;
    for (const [pkg, where] of ws.productImports) {
      if (pkg.startsWith('node:') || self(pkg)) continue;
      if (!ws.deps.has(pkg)) out.push(`${ws.dir}: imports ${pkg} without declaring it in dependencies (${where[0]})`);
    }
    for (const [pkg, where] of ws.testImports) {
      if (pkg.startsWith('node:') || self(pkg)) continue;
      if (!ws.deps.has(pkg) && !ws.devDeps.has(pkg) && !rootDev.has(pkg)) {
        out.push(`${ws.dir}: its tests import ${pkg}, declared nowhere (${where[0]})`);
      }
    }
    for (const dep of [...ws.deps, ...ws.devDeps]) {
      if (!dep.startsWith('@ttpush/')) continue;
      const used = ws.productImports.has(dep) || ws.testImports.has(dep);
      if (!used) out.push(`${ws.dir}: declares ${dep} and never imports it`);
    }
    for (const e of ws.escapes) {
      out.push(
        `${ws.dir}: imports a file of another folder by path (${e}): import its package, or move the test to test/`,
      );
    }
    for (const rule of RULES.filter((r) => r.from === ws.name)) {
      const scopes = rule.tests ? [ws.productImports, ws.testImports] : [ws.productImports];
      for (const imports of scopes) {
        for (const [pkg, where] of imports) {
          if (self(pkg)) continue;
          if (rule.never.some((n) => matches(n, pkg))) {
            out.push(`${ws.dir}: imports ${pkg} (${where[0]}): ${rule.because}`);
          }
        }
      }
    }
    for (const [pkg, where] of ws.productImports) {
      if (TEST_ONLY.includes(pkg) && !self(pkg)) out.push(`${ws.dir}: product code imports ${pkg} (${where[0]})`);
      if (pkg === '@ttpush/sandbox' && !self(pkg) && !SANDBOX_USERS.has(ws.name)) {
        out.push(`${ws.dir}: product code imports the sandbox (${where[0]})`);
      }
    }
  }
  return out;
}

/** `from → to, to` per workspace (product imports of other workspaces; `(tests: …)` for test-only ones). */
export function importGraph(root: string): string[] {
  const wss = readWorkspaces(root);
  const names = new Set(wss.map((w) => w.name));
  return wss.map((ws) => {
    const prod = [...ws.productImports.keys()].filter((p) => names.has(p) && p !== ws.name).sort();
    const tests = [...ws.testImports.keys()].filter((p) => names.has(p) && p !== ws.name && !prod.includes(p)).sort();
    const short = (p: string) => p.replace('@ttpush/', '');
    return `${short(ws.name).padEnd(9)} → ${prod.map(short).join(', ') || '(none)'}${tests.length ? `   (tests: ${tests.map(short).join(', ')})` : ''}`;
  });
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const root = process.argv[2] ?? process.cwd();
  console.log('workspace imports (product code; tests apart):');
  for (const line of importGraph(root)) console.log(`  ${line}`);
  const problems = checkArchitecture(root);
  console.log(problems.length ? `\n${problems.length} violation(s):` : '\nno violations');
  for (const p of problems) console.log(`  ${p}`);
  process.exitCode = problems.length ? 1 : 0;
}
