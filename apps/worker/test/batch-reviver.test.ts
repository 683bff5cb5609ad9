// The reconciler's batch safety net over a real redis-server, a real BullMQ worker and the sandbox TeamTalk:
// a batch whose chunk jobs were lost (as when Redis fails between marking it queued and adding its jobs), and
// a batch one of whose chunk jobs failed for good, both finish with every recipient stored exactly once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { loadConfig } from '@ttpush/config';
import {
  BatchKeys,
  Keys,
  DEFAULT_PARTITIONS,
  LANE_QUEUE,
  chunkJobId,
  partitionTag,
  type BatchRecipient,
  type ChunkJobData,
} from '@ttpush/contract';
import { BatchStore, LaneQueues, ReconcilerStore } from '@ttpush/store';
import { RedisServer } from '@ttpush/testkit';
import { startSandbox, type Sandbox } from '@ttpush/sandbox';
import { TeamTalk } from '../src/teamtalk.ts';
import { WorkerStats } from '../src/stats.ts';
import { CHUNK_DEFAULTS, ChunkProcessor } from '../src/chunk-processor.ts';
import { Reconciler } from '../src/reconciler.ts';
import { uploadBatch } from './upload-batch.ts';

const PREFIX = 'trevive';
const silent = pino({ level: 'silent' });
const batchKeys = new BatchKeys(PREFIX);

let server: RedisServer;
let sandbox: Sandbox;
let tt: TeamTalk;
const conns: Redis[] = [];
let store: BatchStore;
let uploads: LaneQueues;

function conn(): Redis {
  const r = new Redis(server.url, { maxRetriesPerRequest: null });
  conns.push(r);
  return r;
}

before(async () => {
  server = await RedisServer.start();
  sandbox = await startSandbox();
  store = new BatchStore(conn(), PREFIX);
  uploads = new LaneQueues(conn(), PREFIX, DEFAULT_PARTITIONS);
  const config = loadConfig({
    TTPUSH_DB_PROXY_ADDRS: `127.0.0.1:${sandbox.dbProxy.port}`,
    TTPUSH_ROUTE_ADDRS: `127.0.0.1:${sandbox.route.port}`,
  });
  tt = new TeamTalk(config, silent);
  await tt.start();
});

after(async () => {
  await tt?.close();
  await uploads?.close();
  for (const r of conns) r.disconnect();
  await sandbox?.close();
  await server?.stop();
});

async function createBatch(from: number, first: number, n: number): Promise<string> {
  const recipients = Array.from({ length: n }, (_, i): BatchRecipient => ({ to: { user: first + i } }));
  return uploadBatch(store, uploads, 'test', { from, text: `revived ${from}`, priority: 'normal' }, recipients);
}

async function waitFinished(id: string, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await store.view(id);
    if (v?.finished_at) return v;
    assert.ok(Date.now() < end, `batch ${id} did not finish: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('lost chunk jobs and a chunk job failed for good are added again; both batches finish exactly once', async () => {
  const queues = new LaneQueues(conn(), PREFIX, DEFAULT_PARTITIONS);
  const lost = await createBatch(1, 10_000, 2500);
  const failing = await createBatch(2, 20_000, 1500);
  // The state a Redis failure between finishing the upload and addBulk leaves: queued, and no chunk jobs.
  for (let n = 0; n < 3; n++) assert.equal(await queues.forChunk(lost, n).remove(chunkJobId(lost, n)), 1);

  const chunks = new ChunkProcessor(new BatchStore(conn(), PREFIX), tt, new WorkerStats(), silent, {
    ...CHUNK_DEFAULTS,
    maxMessageAgeMs: 60_000,
    settleMs: 100,
  });
  let failedOnce = false;
  const processJob = async (job: Job, token?: string) => {
    const data = job.data as ChunkJobData;
    if (data.batch === failing && data.chunk === 1 && !failedOnce) {
      failedOnce = true;
      throw new UnrecoverableError('a chunk job that fails for good');
    }
    return chunks.process(job as Job<ChunkJobData>, token);
  };
  // One worker per partition's queue, as a worker process runs them.
  const workers = queues.queues.map(
    (_, p) =>
      new Worker(LANE_QUEUE, processJob, { connection: conn(), prefix: partitionTag(PREFIX, p), concurrency: 2 }),
  );
  const redis = conn();
  const reconciler = new Reconciler(new ReconcilerStore(redis, new Keys(PREFIX)), store.index, queues, silent, 50, 500);
  reconciler.start();
  try {
    const a = await waitFinished(lost);
    const b = await waitFinished(failing);
    assert.ok(failedOnce);
    assert.equal(a.status, 'completed');
    assert.deepEqual([a.counts.sent, a.counts.failed, a.counts.queued], [2500, 0, 0]);
    assert.equal(b.status, 'completed');
    assert.deepEqual([b.counts.sent, b.counts.failed, b.counts.queued], [1500, 0, 0]);
    for (let u = 10_000; u < 12_500; u++) assert.equal(sandbox.store.singleMessages(1, u).length, 1, `user ${u}`);
    for (let u = 20_000; u < 21_500; u++) assert.equal(sandbox.store.singleMessages(2, u).length, 1, `user ${u}`);

    // Finished batches leave the safety net's list at its next look; then a pass costs one ZRANGEBYSCORE.
    const end = Date.now() + 20_000;
    while ((await conns[0]!.zcard(batchKeys.active)) > 0) {
      assert.ok(Date.now() < end, 'finished batches stay listed');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(await reconciler.batches.tick(Date.now() + 60_000), 0);
  } finally {
    await reconciler.stop();
    await Promise.all(workers.map((w) => w.close()));
    await queues.close();
  }
});
