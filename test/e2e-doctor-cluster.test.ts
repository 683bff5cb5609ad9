// `ttpush doctor` against a local three-master Redis Cluster: each seed node checked, the cluster state read,
// and a cluster named as one Redis (TTPUSH_REDIS_URL) refused. TeamTalk here is the sandbox.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startSandbox, type Sandbox } from '@ttpush/sandbox';
import { RedisCluster } from '@ttpush/testkit';

const BIN = fileURLToPath(new URL('../packages/cli/bin/ttpush.mjs', import.meta.url));

interface Check {
  status: 'ok' | 'warn' | 'fail';
  name: string;
  detail: string;
}

let cluster: RedisCluster;
let sandbox: Sandbox;

function doctor(env: Record<string, string>): Promise<{ code: number | null; checks: Check[]; out: string }> {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('TTPUSH_')) clean[k] = v;
  const child = spawn(process.execPath, [BIN, 'doctor', '--json'], {
    env: { ...clean, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ttpush doctor did not exit in 60 s\n${out}`));
    }, 60_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, checks: (JSON.parse(out) as { checks: Check[] }).checks });
    });
  });
}

before(async () => {
  cluster = await RedisCluster.start();
  sandbox = await startSandbox({});
});
after(async () => {
  await sandbox?.close();
  await cluster?.stop();
});

test('a cluster: every seed node checked, cluster state ok; a cluster node given as TTPUSH_REDIS_URL fails', async () => {
  const teamtalk = {
    TTPUSH_DB_PROXY_ADDRS: `127.0.0.1:${sandbox.dbProxy.port}`,
    TTPUSH_ROUTE_ADDRS: `127.0.0.1:${sandbox.route.port}`,
  };
  const [asCluster, asOne] = await Promise.all([
    doctor({ ...teamtalk, TTPUSH_REDIS_CLUSTER_NODES: cluster.nodesEnv }),
    doctor({ ...teamtalk, TTPUSH_REDIS_URL: cluster.servers[0]!.url }),
  ]);
  const clusterLines = asCluster.checks.filter((c) => c.name.endsWith(' cluster'));
  assert.equal(clusterLines.length, cluster.servers.length, asCluster.out);
  for (const c of clusterLines)
    assert.deepEqual([c.status, c.detail], ['ok', 'a Redis Cluster node, cluster state ok']);
  // The testkit's cluster runs without persistence: a warning, so exit 1 (no failure).
  assert.equal(asCluster.code, 1, asCluster.out);
  assert.ok(asCluster.checks.some((c) => c.name.endsWith('persistence') && c.status === 'warn'));
  assert.ok(
    asCluster.checks.some((c) => c.name === 'workers' && c.status === 'warn'),
    'the workers read through the cluster',
  );

  assert.equal(asOne.code, 2, asOne.out);
  const mismatch = asOne.checks.find((c) => c.name.endsWith(' cluster'))!;
  assert.equal(mismatch.status, 'fail');
  assert.match(mismatch.detail, /cluster node, but ttpush is configured for one Redis/);
});
