/**
 * The architecture of docs/architecture.md, checked on the tree (scripts/architecture.ts; `npm run arch` prints the
 * import graph): declared dependencies match imports, and the layering holds. The checker itself is tried on a
 * planted tree, so this test fails when it stops seeing a violation.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkArchitecture, importGraph } from '../scripts/architecture.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('architecture', () => {
  it('holds on this tree: every import declared, every declared workspace used, no layer crossed', () => {
    assert.deepEqual(checkArchitecture(ROOT), []);
  });

  it('has the parts of docs/architecture.md, and no packages/core', () => {
    const names = importGraph(ROOT).map((line) => line.split(' ')[0]);
    for (const part of ['api', 'worker', 'contract', 'store', 'pdu', 'sandbox', 'config', 'cli', 'client', 'testkit']) {
      assert.ok(names.includes(part), part);
    }
    assert.ok(!names.includes('core'));
  });

  describe('the checker, on a planted tree', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ttpush-arch-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    };
    const pkg = (name: string, deps: Record<string, string> = {}) =>
      JSON.stringify({ name, dependencies: deps, devDependencies: {} });
    write('package.json', JSON.stringify({ workspaces: ['packages/*', 'apps/*'] }));
    write('packages/pdu/package.json', pkg('@ttpush/pdu'));
    write('packages/pdu/src/a.ts', "import { Redis } from 'ioredis';\nimport './b.ts';\nexport const x = Redis;\n");
    write('packages/pdu/src/b.ts', 'const s = "from \'express\'";\nexport default s;\n');
    write('apps/api/package.json', pkg('@ttpush/api', { '@ttpush/worker': '0.1.0', '@ttpush/sandbox': '0.1.0' }));
    write('apps/api/src/a.ts', "import { w } from '@ttpush/worker';\nimport '../../worker/src/a.ts';\nexport { w };\n");
    write('apps/worker/package.json', pkg('@ttpush/worker'));
    write('apps/worker/src/a.ts', "export const w = await import('@ttpush/testkit');\n");

    it('sees each kind of violation, and no import in a string', () => {
      const found = checkArchitecture(dir).join('\n');
      assert.match(found, /packages\/pdu: imports ioredis without declaring it/);
      assert.match(found, /packages\/pdu: imports ioredis .*no Redis/);
      assert.doesNotMatch(found, /express/);
      assert.match(found, /apps\/api: imports @ttpush\/worker .*contract and store/);
      assert.match(found, /apps\/api: declares @ttpush\/sandbox and never imports it/);
      assert.match(found, /apps\/api: imports a file of another folder by path/);
      assert.match(found, /apps\/worker: product code imports @ttpush\/testkit/);
    });
  });
});
