// `ttpush healthcheck api|worker`, the docker-compose health checks, against real api, worker, redis-server and
// sandbox processes: healthy when connected, unhealthy with the reason when TeamTalk goes away or the worker stops.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Harness, sleep } from './helpers/harness.ts';

const BIN = fileURLToPath(new URL('../packages/cli/bin/ttpush.mjs', import.meta.url));
let h: Harness;

before(async () => {
  h = await Harness.start();
});
after(async () => {
  await h?.stop();
});

function healthcheck(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [BIN, 'healthcheck', ...args], {
    env: {
      ...process.env,
      TTPUSH_REDIS_URL: h.redis.url,
      TTPUSH_HTTP_PORT: String(h.apiPort),
      TTPUSH_DB_PROXY_ADDRS: `127.0.0.1:${h.sandbox.dbProxy.port}`,
      TTPUSH_ROUTE_ADDRS: `127.0.0.1:${h.sandbox.route.port}`,
      TTPUSH_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, out, err })));
}

/** Runs the check until it answers `code`, within a deadline; answers the last run. */
async function until(code: number, role: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await healthcheck(role);
    if (r.code === code || Date.now() > deadline) return r;
    await sleep(300);
  }
}

test('healthy api and worker, then the reason each is unhealthy: TeamTalk gone, worker stopped', async () => {
  const worker = await healthcheck('worker');
  assert.equal(worker.code, 0, worker.out + worker.err);
  assert.match(worker.out, /connected to db_proxy_server and route_server/);
  const api = await healthcheck('api');
  assert.equal(api.code, 0, api.out + api.err);
  assert.match(api.out, /api ready/);

  await h.sandbox.close();
  const down = await until(1, 'worker');
  assert.equal(down.code, 1, down.out);
  assert.match(down.out, /not connected to db_proxy_server/);
  assert.match(down.out, /TTPUSH_DB_PROXY_ADDRS/);
  const apiDown = await until(1, 'api');
  assert.equal(apiDown.code, 1, apiDown.out);
  assert.match(apiDown.out, /not ready: .*not connected/);

  await h.killWorker(h.workers[0]!, 'SIGTERM');
  const gone = await until(1, 'worker');
  assert.match(gone.out, /no worker of host .* has a heartbeat/);
});

test('usage errors exit 2', async () => {
  assert.equal((await healthcheck()).code, 2);
  assert.equal((await healthcheck('redis')).code, 2);
  assert.equal((await healthcheck('worker', '--verbose')).code, 2);
});
