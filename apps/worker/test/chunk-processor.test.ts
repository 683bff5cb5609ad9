// The chunk processor over a real redis-server and the sandbox TeamTalk, driven job by job (no BullMQ
// worker), so each recovery path is reached on purpose: an attempt that died mid-chunk, connections cut
// mid-flight, silent drops, refusals, deadlines, TeamTalk down past the max age, pause and cancel mid-chunk.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DelayedError } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { loadConfig } from '@ttpush/config';
import { BatchKeys, DEFAULT_PARTITIONS, type BatchRecipient, type Priority } from '@ttpush/contract';
import { BatchStore, LaneQueues } from '@ttpush/store';
import { TenantKeys } from '@ttpush/contract';
import { TeamTalkCipher } from '@ttpush/pdu';
import { RedisServer } from '@ttpush/testkit';
import { startSandbox, type Sandbox } from '@ttpush/sandbox';
import { TeamTalk } from '../src/teamtalk.ts';
import { WorkerStats } from '../src/stats.ts';
import { CHUNK_DEFAULTS, ChunkProcessor, type ChunkJob, type ChunkOptions } from '../src/chunk-processor.ts';
import { RateThrottles } from '../src/rate-throttles.ts';
import { uploadBatch } from './upload-batch.ts';

const PREFIX = 'tchunk';
const AES = '12345678901234567890123456789012';
const cipher = new TeamTalkCipher(AES);
const silent = pino({ level: 'silent' });

let server: RedisServer;
let sandbox: Sandbox;
let redis: Redis;
let queueRedis: Redis;
let store: BatchStore;
let queues: LaneQueues;
let tt: TeamTalk;
const keys = new BatchKeys(PREFIX);

before(async () => {
  server = await RedisServer.start();
  sandbox = await startSandbox({ groups: { '700': [1, 2, 3] } });
  redis = new Redis(server.url);
  queueRedis = new Redis(server.url, { maxRetriesPerRequest: null });
  store = new BatchStore(redis, PREFIX);
  queues = new LaneQueues(queueRedis, PREFIX, DEFAULT_PARTITIONS);
  const config = loadConfig({
    TTPUSH_DB_PROXY_ADDRS: `127.0.0.1:${sandbox.dbProxy.port}`,
    TTPUSH_ROUTE_ADDRS: `127.0.0.1:${sandbox.route.port}`,
    TTPUSH_TEAMTALK_REPLY_TIMEOUT_MS: '300',
    TTPUSH_TEAMTALK_CONNECT_TIMEOUT_MS: '300',
  });
  tt = new TeamTalk(config, silent);
  await tt.start();
});

after(async () => {
  await tt?.close();
  await queues?.close();
  for (const r of [redis, queueRedis]) r?.disconnect();
  await sandbox?.close();
  await server?.stop();
});

function processor(
  stats = new WorkerStats(),
  opts: Partial<ChunkOptions> = {},
  throttles?: RateThrottles,
): ChunkProcessor {
  return new ChunkProcessor(
    store,
    tt,
    stats,
    silent,
    { ...CHUNK_DEFAULTS, maxMessageAgeMs: 60_000, settleMs: 100, ...opts },
    throttles,
  );
}

/** The workers' rate limits, as the tenant apps in Redis set them (`rate_limit` on the app record). */
function throttles(): RateThrottles {
  return new RateThrottles(redis, loadConfig({ TTPUSH_REDIS_PREFIX: PREFIX }));
}

/** A job as BullMQ hands it to the processor; moveToDelayed records where it was sent. */
function job(batch: string, chunk: number): { job: ChunkJob; delayedUntil: number[] } {
  const delayedUntil: number[] = [];
  const j = {
    id: `${batch}.${chunk}`,
    data: { batch, chunk },
    moveToDelayed: async (ts: number) => {
      delayedUntil.push(ts);
    },
  };
  return { job: j, delayedUntil };
}

async function createBatch(
  from: number,
  recipients: BatchRecipient[],
  extra: { text?: string; sendAt?: number; deadline?: number; priority?: Priority; app?: string } = {},
): Promise<string> {
  const { app, ...header } = extra;
  return uploadBatch(
    store,
    queues,
    app ?? 'test',
    { from, text: extra.text ?? `text from ${from}`, priority: extra.priority ?? 'normal', ...header },
    recipients,
  );
}

const usersFrom = (first: number, n: number): BatchRecipient[] =>
  Array.from({ length: n }, (_, i) => ({ to: { user: first + i } }));

function storedOnce(from: number, first: number, n: number): void {
  for (let u = first; u < first + n; u++) {
    assert.equal(sandbox.store.singleMessages(from, u).length, 1, `user ${u} holds a wrong number of messages`);
  }
}

async function view(id: string) {
  return (await store.view(id))!;
}

async function waitStored(n: number): Promise<void> {
  const end = Date.now() + 20_000;
  while (sandbox.store.count() < n) {
    assert.ok(Date.now() < end, `only ${sandbox.store.count()} stored, waited for ${n}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

test('two chunks are sent and each writes its results and counters in one step', async () => {
  const id = await createBatch(100, usersFrom(10_000, 1500));
  const p = processor();
  assert.equal(await p.process(job(id, 0).job, 'token'), 'done');
  let v = await view(id);
  assert.equal(v.status, 'running');
  assert.deepEqual(v.counts, { queued: 500, sending: 0, sent: 1000, failed: 0, cancelled: 0 });
  assert.equal(await p.process(job(id, 1).job, 'token'), 'done');
  v = await view(id);
  assert.equal(v.status, 'completed');
  assert.deepEqual(v.counts, { queued: 0, sending: 0, sent: 1500, failed: 0, cancelled: 0 });
  assert.ok(v.finished_at !== null);
  storedOnce(100, 10_000, 1500);
  // A second delivery of a finished chunk's job changes nothing.
  assert.equal(await p.process(job(id, 1).job, 'token'), 'done');
  assert.equal(sandbox.store.singleMessages(100, 11_499).length, 1);
});

test('an attempt that died mid-chunk is read back: what it stored is recorded, only the rest is sent', async () => {
  const id = await createBatch(101, usersFrom(20_000, 1000), { text: 'crash' });
  // The dead attempt: it claimed the chunk and stored the first 400 messages, then died.
  const now = Date.now();
  const claim = await store.chunks.claim(id, 0, 1000, now);
  assert.ok(claim.claimed);
  assert.equal(claim.status, 'running');
  const ct = claim.createTime;
  const data = tt.ciphertext('crash');
  const early = await Promise.all(Array.from({ length: 400 }, (_, i) => tt.store(101, { user: 20_000 + i }, ct, data)));
  const stats = new WorkerStats();
  assert.equal(await processor(stats).process(job(id, 0).job, 'token'), 'done');
  assert.equal(stats.readBackFound, 400);
  storedOnce(101, 20_000, 1000);
  const v = await view(id);
  assert.equal(v.status, 'completed');
  assert.deepEqual(v.counts, { queued: 0, sending: 0, sent: 1000, failed: 0, cancelled: 0 });
  const page = await store.results(id, { limit: 1 });
  assert.deepEqual(page!.results[0], { recipient: { user: 20_000 }, state: 'sent', msg_id: early[0]!.msgId });
});

test('a paced chunk publishes its counts while it sends, and the final write adds only the rest', async () => {
  // 50 messages/s: the 300 recipients of this one chunk take about 5 s.
  await redis.hset(new TenantKeys(PREFIX).app('paced'), 'name', 'paced', 'rate_limit', '50');
  const id = await createBatch(118, usersFrom(90_000, 300), { app: 'paced' });
  let ended = false;
  const running = processor(new WorkerStats(), {}, throttles())
    .process(job(id, 0).job, 'token')
    .finally(() => (ended = true));
  const seen: number[] = [];
  const deadline = Date.now() + 20_000;
  for (;;) {
    const v = await view(id);
    if (ended) break;
    seen.push(v.counts.sent);
    if (v.counts.sent > 0 && v.counts.sent < 300) {
      // Counted, not also still "sending": the counters add up while the chunk runs.
      assert.equal(v.counts.sent + v.counts.sending + v.counts.queued, 300);
      assert.ok(v.rate > 0, 'a batch that moves has a rate');
      assert.ok(v.eta_seconds !== null && v.eta_seconds > 0);
      break;
    }
    assert.ok(Date.now() < deadline, `no progress while the chunk ran (${seen.length} reads)`);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(ended, false, `the chunk ended before any progress was seen (${seen.length} reads, all 0)`);
  assert.equal(await running, 'done');
  storedOnce(118, 90_000, 300);
  const v = await view(id);
  assert.equal(v.status, 'completed');
  assert.deepEqual(v.counts, { queued: 0, sending: 0, sent: 300, failed: 0, cancelled: 0 });
});

test('an attempt that died after publishing progress: the next one counts nothing twice', async () => {
  const id = await createBatch(119, usersFrom(95_000, 1000), { text: 'died' });
  const now = Date.now();
  const claim = await store.chunks.claim(id, 0, 1000, now);
  assert.ok(claim.claimed);
  const ct = claim.createTime;
  const data = tt.ciphertext('died');
  // The dead attempt stored 500 messages and published progress for the first 300 of them.
  const early = await Promise.all(Array.from({ length: 500 }, (_, i) => tt.store(119, { user: 95_000 + i }, ct, data)));
  const recorded = early.slice(0, 300).map((m) => `[1,${m.msgId}]`);
  const partial = `[${recorded.concat(Array.from({ length: 700 }, () => 'null')).join(',')}]`;
  assert.equal(
    await store.chunks.writePartial(id, 0, {
      attempt: claim.attempt,
      results: partial,
      clean: false,
      sent: 300,
      failed: 0,
    }),
    'recorded',
  );
  assert.deepEqual((await view(id)).counts, { queued: 0, sending: 700, sent: 300, failed: 0, cancelled: 0 });
  const stats = new WorkerStats();
  assert.equal(await processor(stats).process(job(id, 0).job, 'token'), 'done');
  assert.equal(stats.readBackFound, 200);
  storedOnce(119, 95_000, 1000);
  assert.deepEqual((await view(id)).counts, { queued: 0, sending: 0, sent: 1000, failed: 0, cancelled: 0 });
});

test('db_proxy connections cut mid-chunk: every recipient is stored exactly once', async () => {
  const id = await createBatch(102, usersFrom(30_000, 1000));
  const start = sandbox.store.count();
  const p = processor(new WorkerStats(), { window: 20 });
  const running = p.process(job(id, 0).job, 'token');
  await waitStored(start + 200);
  sandbox.dbProxy.closeAllConnections();
  await waitStored(start + 600);
  sandbox.dbProxy.closeAllConnections();
  assert.equal(await running, 'done');
  storedOnce(102, 30_000, 1000);
  assert.equal(sandbox.store.count() - start, 1000);
  assert.deepEqual((await view(id)).counts, { queued: 0, sending: 0, sent: 1000, failed: 0, cancelled: 0 });
});

test('a parked db_proxy thread and stores landing after the reply deadline: every recipient stored exactly once', async () => {
  // A quarter of requests never answered (notes §10); a tenth of stores land 500 ms late, after the 300 ms timeout.
  sandbox.dbProxy.setFault({ threads: 4, parkedThreads: 1, storeLate: { share: 0.1, delayMs: 500 } });
  try {
    const id = await createBatch(104, usersFrom(50_000, 400));
    const stats = new WorkerStats();
    assert.equal(await processor(stats, { settleMs: 400 }).process(job(id, 0).job, 'token'), 'done');
    assert.ok(sandbox.dbProxy.stats.parked > 0 && sandbox.dbProxy.stats.storedLate > 0);
    const end = Date.now() + 10_000;
    while (sandbox.dbProxy.inFlight > 0) {
      assert.ok(Date.now() < end, 'the late stores landed');
      await new Promise((r) => setTimeout(r, 20));
    }
    storedOnce(104, 50_000, 400);
    assert.deepEqual((await view(id)).counts, { queued: 0, sending: 0, sent: 400, failed: 0, cancelled: 0 });
  } finally {
    sandbox.dbProxy.setFault({});
  }
});

test('a refusal (msg_id 0) and a silent drop (unknown group) fail with their codes; the rest is sent', async () => {
  const id = await createBatch(
    1,
    [{ to: { user: 2 } }, { to: { user: 1 } }, { to: { group: 999_999 } }, { to: { group: 700 } }],
    {
      text: 'mixed',
    },
  );
  const stats = new WorkerStats();
  assert.equal(await processor(stats).process(job(id, 0).job, 'token'), 'done');
  const page = await store.results(id, { limit: 10 });
  assert.deepEqual(
    page!.results.map((r) => [r.state, 'error' in r ? r.error.code : null]),
    [
      ['sent', null],
      ['failed', 'teamtalk_rejected'],
      ['failed', 'group_not_found'],
      ['sent', null],
    ],
  );
  const failed = await store.results(id, { limit: 10, state: 'failed' });
  assert.equal(failed!.results.length, 2);
  const v = await view(id);
  assert.equal(v.status, 'completed');
  assert.deepEqual(v.counts, { queued: 0, sending: 0, sent: 2, failed: 2, cancelled: 0 });
  assert.equal(sandbox.store.groupMessages(999_999).length, 0);
});

test('a batch past its deadline fails what is unsent as expired', async () => {
  const id = await createBatch(103, usersFrom(40_000, 10), { deadline: Date.now() + 30 });
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(await processor().process(job(id, 0).job, 'token'), 'done');
  const v = await view(id);
  assert.deepEqual(v.counts, { queued: 0, sending: 0, sent: 0, failed: 10, cancelled: 0 });
  const rows = await store.results(id, { limit: 10 });
  assert.ok(rows!.results.every((r) => r.state === 'failed' && r.error.code === 'expired'));
  assert.equal(sandbox.store.singleMessages(103, 40_000).length, 0);
});

test('a chunk not yet due, or of a paused batch, moves itself to the delayed set', async () => {
  const sendAt = Date.now() + 60_000;
  const later = await createBatch(104, usersFrom(50_000, 5), { sendAt });
  const j = job(later, 0);
  await assert.rejects(processor().process(j.job, 'token'), DelayedError);
  assert.deepEqual(j.delayedUntil, [sendAt]);

  const paused = await createBatch(104, usersFrom(51_000, 5));
  await store.pause(paused);
  const k = job(paused, 0);
  const before = Date.now();
  await assert.rejects(processor().process(k.job, 'token'), DelayedError);
  assert.ok(k.delayedUntil[0]! >= before + CHUNK_DEFAULTS.pausedRecheckMs);
  assert.equal(sandbox.store.singleMessages(104, 51_000).length, 0);
});

test('paused mid-chunk: what was sent is counted, the rest is sent after resume without reading back', async () => {
  // The sandbox answers fast: a window of 5 keeps the chunk in flight long enough to pause it.
  const id = await createBatch(105, usersFrom(60_000, 1000));
  const start = sandbox.store.count();
  const stats = new WorkerStats();
  const p = processor(stats, { window: 5, checkEvery: 5, statusTtlMs: 10 });
  const first = job(id, 0);
  const running = p.process(first.job, 'token');
  await waitStored(start + 100);
  await store.pause(id);
  await assert.rejects(running, DelayedError);
  assert.equal(first.delayedUntil.length, 1);
  const sent = sandbox.store.count() - start;
  assert.ok(sent < 1000, 'the chunk finished before the pause');
  let v = await view(id);
  assert.equal(v.status, 'paused');
  assert.equal(v.counts.sent, sent);
  assert.equal(v.counts.sending, 1000 - sent);
  assert.equal(await redis.hget(keys.sendState(id, 0), 'clean'), '1');

  await store.resume(id);
  assert.equal(await p.process(job(id, 0).job, 'token'), 'done');
  assert.equal(stats.readBackFound, 0);
  storedOnce(105, 60_000, 1000);
  v = await view(id);
  assert.equal(v.status, 'completed');
  assert.deepEqual(v.counts, { queued: 0, sending: 0, sent: 1000, failed: 0, cancelled: 0 });
});

test('cancelled mid-chunk: the chunk stops, its unsent recipients and the untouched chunks are cancelled', async () => {
  const id = await createBatch(106, usersFrom(70_000, 2500));
  const start = sandbox.store.count();
  const p = processor(new WorkerStats(), { window: 5, checkEvery: 5, statusTtlMs: 10 });
  const running = p.process(job(id, 0).job, 'token');
  await waitStored(start + 100);
  const r = await store.cancel(id);
  assert.ok(r.outcome === 'changed' || r.outcome === 'unchanged');
  assert.equal(await running, 'done');
  const sent = sandbox.store.count() - start;
  assert.ok(sent < 1000);
  // Chunks 1 and 2 were never claimed: the cancel settled them at once.
  assert.equal(await p.process(job(id, 1).job, 'token'), 'done');
  const v = await view(id);
  assert.equal(v.status, 'cancelled');
  assert.ok(v.finished_at !== null);
  assert.deepEqual(v.counts, { queued: 0, sending: 0, sent, failed: 0, cancelled: 2500 - sent });
  assert.equal(sandbox.store.count() - start, sent);
  const cancelledRows = await store.exportResults(id, 'cancelled');
  let n = 0;
  for await (const _row of cancelledRows!) n++;
  assert.equal(n, 2500 - sent);
});

test('TeamTalk down past the max message age: the chunk fails as teamtalk_unavailable', async () => {
  const id = await createBatch(107, usersFrom(80_000, 20));
  await sandbox.dbProxy.stop();
  try {
    assert.equal(await processor(new WorkerStats(), { maxMessageAgeMs: 400 }).process(job(id, 0).job, 'token'), 'done');
  } finally {
    await sandbox.dbProxy.start();
  }
  const rows = await store.results(id, { limit: 100 });
  assert.ok(rows!.results.every((r) => r.state === 'failed' && r.error.code === 'teamtalk_unavailable'));
  assert.deepEqual((await view(id)).counts, { queued: 0, sending: 0, sent: 0, failed: 20, cancelled: 0 });
  await tt.db.waitReady(5000);
});

test('per-recipient texts are encrypted and stored as given', async () => {
  const id = await createBatch(108, [
    { to: { user: 90_000 }, text: 'own 一' },
    { to: { user: 90_001 } },
    { to: { user: 90_002 }, text: 'own 三 🎉' },
  ]);
  assert.equal(await processor().process(job(id, 0).job, 'token'), 'done');
  const texts = [90_000, 90_001, 90_002].map((u) =>
    cipher.decryptToString(sandbox.store.singleMessages(108, u)[0]!.msgData),
  );
  assert.deepEqual(texts, ['own 一', 'text from 108', 'own 三 🎉']);
});
