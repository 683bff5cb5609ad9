// Docker files are checked statically: no Docker engine runs on our machines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

test('docker-compose.yml is valid for docker-compose config', (t) => {
  const which = spawnSync('sh', ['-c', 'command -v docker-compose']);
  if (which.status !== 0) {
    t.skip('docker-compose is not installed (.ci/run installs it from Debian)');
    return;
  }
  const r = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const full = spawnSync('docker-compose', ['-f', 'docker-compose.yml', '--profile', 'sandbox', 'config'], {
    encoding: 'utf8',
  });
  assert.equal(full.status, 0, full.stderr);
  for (const svc of ['redis:', 'api:', 'worker:', 'sandbox:']) assert.match(full.stdout, new RegExp(`\\n  ${svc}`));
  // The safe persistence setting ships by default: every accepted message is fsynced.
  assert.match(full.stdout, /--appendfsync\s*\n?\s*-?\s*always/);
});

test('the Dockerfile builds on Node 24 LTS and runs the ttpush command', () => {
  const text = readFileSync('Dockerfile', 'utf8');
  const froms = [...text.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
  assert.ok(froms.length > 0);
  for (const f of froms) assert.match(f!, /^node:24[-.]/);
  assert.match(text, /npm ci --omit=dev/);
  // npm ci installs each workspace's dependencies only when its package.json is in the deps stage.
  for (const dir of ['apps', 'packages']) {
    for (const name of readdirSync(dir)) {
      if (!existsSync(`${dir}/${name}/package.json`)) continue;
      assert.ok(
        text.includes(`COPY ${dir}/${name}/package.json ${dir}/${name}/`),
        `Dockerfile copies ${dir}/${name}/package.json`,
      );
    }
  }
  assert.match(text, /ENTRYPOINT \["node", "packages\/cli\/bin\/ttpush\.mjs"\]/);
});
