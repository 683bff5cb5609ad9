// Docker files are checked statically: no Docker engine runs on our machines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** The TeamTalk addresses compose requires (they have no default), as the README's sandbox line gives them. */
const TEAMTALK = {
  ...process.env,
  TTPUSH_DB_PROXY_ADDRS: 'sandbox:10600',
  TTPUSH_ROUTE_ADDRS: 'sandbox:8200',
};

const haveCompose = () => spawnSync('sh', ['-c', 'command -v docker-compose']).status === 0;

/** The resolved compose file as JSON: docker-compose v2 prints it, v1 prints YAML that its own Python reads. */
function composeConfig(args: string[], env: NodeJS.ProcessEnv): { status: number | null; json?: any; stderr: string } {
  const v2 = spawnSync('docker-compose', ['-f', 'docker-compose.yml', ...args, 'config', '--format', 'json'], {
    encoding: 'utf8',
    env,
  });
  // v1 prints its usage with status 0 for an option it does not know: only JSON output counts.
  if (v2.status === 0 && v2.stdout.trimStart().startsWith('{')) {
    return { status: 0, json: JSON.parse(v2.stdout), stderr: v2.stderr };
  }
  const v1 = spawnSync('docker-compose', ['-f', 'docker-compose.yml', ...args, 'config'], { encoding: 'utf8', env });
  if (v1.status !== 0) return { status: v1.status, stderr: v1.stderr };
  const toJson = spawnSync(
    'python3',
    ['-c', 'import sys, json, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'],
    {
      input: v1.stdout,
      encoding: 'utf8',
    },
  );
  assert.equal(toJson.status, 0, toJson.stderr);
  return { status: 0, json: JSON.parse(toJson.stdout), stderr: v1.stderr };
}

test('compose: the api and worker have health checks; everything waits on Redis being healthy', (t) => {
  if (!haveCompose()) {
    t.skip('docker-compose is not installed (.ci/run installs it from Debian)');
    return;
  }
  const { status, json, stderr } = composeConfig(['--profile', 'sandbox', '--profile', 'monitoring'], TEAMTALK);
  assert.equal(status, 0, stderr);
  const services = json.services as Record<string, any>;
  // The checks are `ttpush healthcheck api|worker` (test/e2e-healthcheck.test.ts), run by node in the image.
  assert.deepEqual(services.api.healthcheck.test, ['CMD', 'node', 'packages/cli/bin/ttpush.mjs', 'healthcheck', 'api']);
  assert.deepEqual(services.worker.healthcheck.test, [
    'CMD',
    'node',
    'packages/cli/bin/ttpush.mjs',
    'healthcheck',
    'worker',
  ]);
  for (const name of ['api', 'worker', 'sandbox', 'redis']) {
    const hc = services[name].healthcheck;
    assert.ok(hc?.interval && hc?.timeout && hc?.retries, `${name} has a health check with interval, timeout, retries`);
  }
  assert.deepEqual(services.api.depends_on, { redis: { condition: 'service_healthy' } });
  assert.deepEqual(services.worker.depends_on, { redis: { condition: 'service_healthy' } });
  // Every dependency names its condition.
  for (const [name, svc] of Object.entries(services)) {
    for (const [dep, how] of Object.entries((svc.depends_on ?? {}) as Record<string, { condition?: string }>)) {
      assert.ok(how.condition, `${name} depends on ${dep} with a condition`);
    }
  }
  assert.equal(services.api.environment.TTPUSH_DB_PROXY_ADDRS, 'sandbox:10600');
  assert.equal(services.worker.environment.TTPUSH_ROUTE_ADDRS, 'sandbox:8200');
});

test('compose: TeamTalk addresses have no default; without them compose stops naming the variable', (t) => {
  const text = readFileSync('docker-compose.yml', 'utf8');
  // Each address line is commented (the line above says what it is and the sandbox's values).
  for (const name of ['TTPUSH_DB_PROXY_ADDRS', 'TTPUSH_ROUTE_ADDRS']) {
    const lines = text.split('\n');
    const at = lines.findIndex((l) => l.trimStart().startsWith(`${name}:`));
    assert.ok(at > 0, `${name} is set`);
    assert.match(lines[at - 1]!, /^\s*#/, `${name} has a comment above it`);
    assert.match(lines[at]!, new RegExp(`\\$\\{${name}:\\?`), `${name} is required, not defaulted`);
    assert.doesNotMatch(lines[at]!, /:-sandbox/);
  }
  if (!haveCompose()) {
    t.skip('docker-compose is not installed (.ci/run installs it from Debian)');
    return;
  }
  const env = { ...process.env };
  delete env.TTPUSH_DB_PROXY_ADDRS;
  delete env.TTPUSH_ROUTE_ADDRS;
  const r = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { encoding: 'utf8', env });
  assert.notEqual(r.status, 0);
  assert.match(
    r.stderr,
    /set TTPUSH_DB_PROXY_ADDRS to your db_proxy_server host:port \(sandbox:10600 with --profile sandbox\)/,
  );
});

test('docker-compose.yml is valid for docker-compose config', (t) => {
  const which = spawnSync('sh', ['-c', 'command -v docker-compose']);
  if (which.status !== 0) {
    t.skip('docker-compose is not installed (.ci/run installs it from Debian)');
    return;
  }
  const r = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], {
    encoding: 'utf8',
    env: TEAMTALK,
  });
  assert.equal(r.status, 0, r.stderr);
  const full = spawnSync('docker-compose', ['-f', 'docker-compose.yml', '--profile', 'sandbox', 'config'], {
    encoding: 'utf8',
    env: TEAMTALK,
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
