// A batch whose chunk jobs were only partly queued (one partition's queue refused its add) is kept, not taken
// back: chunks already queued may be sending, and a retry of a taken-back batch would send them again. The
// workers' batch reviver adds the missing jobs. When nothing was queued, the batch is taken back whole.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RedisServer } from '@ttpush/testkit';
import { CHUNK_SIZE } from '@ttpush/contract';
import { RedisBatchService } from '../src/batch-service.ts';
import { ServiceUnavailableError, producerRedis } from '@ttpush/store';
import type { Redis } from 'ioredis';

const PARTITIONS = 4;
let server: RedisServer;
let redis: Redis;
let queueConnection: Redis;
let batches: RedisBatchService;

before(async () => {
  server = await RedisServer.start();
  redis = producerRedis(server.url);
  queueConnection = producerRedis(server.url);
  await Promise.all(
    [redis, queueConnection].map((c) => (c.status === 'ready' ? undefined : new Promise((r) => c.once('ready', r)))),
  );
  batches = new RedisBatchService({ redis, queueConnection, prefix: 'tfin', partitions: PARTITIONS });
});

after(async () => {
  await batches?.close();
  redis?.disconnect();
  queueConnection?.disconnect();
  await server?.stop();
});

async function upload(key: string, failing: (p: number) => boolean) {
  const queues = batches.queues.queues;
  const originals = queues.map((q) => q.addBulk.bind(q));
  queues.forEach((q, p) => {
    if (failing(p)) q.addBulk = () => Promise.reject(new Error('connection lost'));
  });
  try {
    const r = await batches.begin({
      app: 'dev',
      header: { from: 1, text: 'hi', priority: 'normal' },
      idempotencyKey: key,
    });
    assert.ok('upload' in r);
    for (let u = 0; u < CHUNK_SIZE * PARTITIONS; u++) await r.upload.add({ to: { user: 10_000 + u } });
    return { id: r.upload.id, finished: await r.upload.finish().catch((err: unknown) => err) };
  } finally {
    queues.forEach((q, p) => (q.addBulk = originals[p]!));
  }
}

const jobCounts = () => Promise.all(batches.queues.queues.map((q) => q.count()));

test('a partly queued batch stays queued under its Idempotency-Key, and a retry answers it rather than sending again', async () => {
  const before = await jobCounts();
  // The queues are tried in partition order: fail the last one, so the others got their chunks.
  const { id, finished } = await upload('partial', (p) => p === PARTITIONS - 1);
  assert.ok(!(finished instanceof Error), String(finished));
  assert.equal((finished as { status: string }).status, 'queued');
  const added = (await jobCounts()).reduce((a, n, i) => a + n - before[i]!, 0);
  assert.equal(added, PARTITIONS - 1);
  const again = await batches.begin({
    app: 'dev',
    header: { from: 1, text: 'hi', priority: 'normal' },
    idempotencyKey: 'partial',
  });
  assert.ok('duplicate' in again);
  assert.equal(again.duplicate.id, id);
});

test('a batch none of whose chunk jobs were queued is taken back whole, so a retry starts clean', async () => {
  const { finished } = await upload('nothing', () => true);
  assert.ok(finished instanceof ServiceUnavailableError);
  const again = await batches.begin({
    app: 'dev',
    header: { from: 1, text: 'hi', priority: 'normal' },
    idempotencyKey: 'nothing',
  });
  assert.ok('upload' in again);
  await again.upload.abort();
});
