// Every Lua script ttpush runs (its own and BullMQ's) and every MULTI names keys of one Redis Cluster slot,
// observed at the source: a redis-server's MONITOR while the api's services, the lane and chunk processors, the
// reconciler and the rate limiter do their real work. A Redis Cluster refuses anything else (CROSSSLOT).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import { pino } from 'pino';
import { loadConfig } from '@ttpush/config';
import { Keys } from '@ttpush/contract';
import { RedisBatchService, RedisMessageService } from '@ttpush/api';
import { BatchIndex, BatchStore, LaneStore, RateLimitStore, ReconcilerStore } from '@ttpush/store';
import { RedisServer } from '@ttpush/testkit';
import { startSandbox, type Sandbox } from '@ttpush/sandbox';
import { TeamTalk } from '../apps/worker/src/teamtalk.ts';
import { WorkerStats } from '../apps/worker/src/stats.ts';
import { LaneProcessor } from '../apps/worker/src/lane-processor.ts';
import { CHUNK_DEFAULTS, ChunkProcessor } from '../apps/worker/src/chunk-processor.ts';
import { Reconciler } from '../apps/worker/src/reconciler.ts';

const PREFIX = 'tslots';
const silent = pino({ level: 'silent' });

let server: RedisServer;
let sandbox: Sandbox;
let tt: TeamTalk;
const conns: Redis[] = [];

function conn(): Redis {
  const r = new Redis(server.url, { maxRetriesPerRequest: null });
  conns.push(r);
  return r;
}

before(async () => {
  server = await RedisServer.start();
  sandbox = await startSandbox({ groups: { '700': [1, 2, 3] } });
  const config = loadConfig({
    TTPUSH_DB_PROXY_ADDRS: `127.0.0.1:${sandbox.dbProxy.port}`,
    TTPUSH_ROUTE_ADDRS: `127.0.0.1:${sandbox.route.port}`,
  });
  tt = new TeamTalk(config, silent);
  await tt.start();
});

after(async () => {
  await tt?.close();
  for (const r of conns) r.disconnect();
  await sandbox?.close();
  await server?.stop();
});

/** One command as MONITOR shows it: its words and the client that sent it. */
interface Seen {
  args: string[];
  source: string;
}

/** What spans slots: scripts whose KEYS do, and MULTI blocks whose commands' keys do. */
function crossSlot(seen: Seen[]): string[] {
  const bad: string[] = [];
  const slots = (keys: string[]) => new Set(keys.map((k) => calculateSlot(k)));
  const open = new Map<string, string[]>();
  for (const { args, source } of seen) {
    const cmd = args[0]!.toLowerCase();
    if (cmd === 'evalsha' || cmd === 'eval') {
      const keys = args.slice(3, 3 + Number(args[2]));
      if (slots(keys).size > 1) bad.push(`script ${args[1]!.slice(0, 40)}: ${keys.join(' ')}`);
    } else if (cmd === 'multi') {
      open.set(source, []);
    } else if (cmd === 'exec') {
      const keys = open.get(source) ?? [];
      open.delete(source);
      if (slots(keys).size > 1) bad.push(`multi: ${keys.join(' ')}`);
    } else if (open.has(source) && args[1] !== undefined) {
      open.get(source)!.push(args[1]); // every command ttpush puts in a MULTI has its key first
    }
  }
  return bad;
}

test('every script and MULTI of the api, the workers and BullMQ names keys of one slot', async () => {
  const seen: Seen[] = [];
  const monitor = await conn().monitor();
  monitor.on('monitor', (_time: string, args: string[], source: string) => seen.push({ args, source }));

  const keys = new Keys(PREFIX);
  const messages = new RedisMessageService({
    redis: conn(),
    subscriber: conn(),
    queueConnection: conn(),
    prefix: PREFIX,
  });
  const batches = new RedisBatchService({ redis: conn(), queueConnection: conn(), prefix: PREFIX });
  const redis = conn();
  const lanes = new LaneProcessor(new LaneStore(redis, keys), tt, new WorkerStats(), silent, {
    lockMs: 5000,
    maxMessageAgeMs: 60_000,
    replyTimeoutMs: 1000,
    settleMs: 100,
  });
  const reconciler = new Reconciler(
    new ReconcilerStore(redis, keys),
    new BatchIndex(redis, PREFIX),
    messages.queues,
    silent,
    50,
    500,
  );
  try {
    // Messages: plain, group, idempotent (twice), waited for, scheduled (promoted), cancelled.
    const ids: string[] = [];
    const convs = new Set<string>();
    for (let u = 0; u < 24; u++) {
      const r = await messages.submit({
        app: 'dev',
        from: 1000 + u,
        to: { user: 2000 + u },
        text: `m${u}`,
        priority: 'normal',
        // Half of them from a key without read_all: the accept script writes its list index too.
        ...(u % 2 === 0 && { key: 'key_0123456789abcdef', listByKey: true }),
      });
      ids.push(r.view.id);
      convs.add(`u-${1000 + u}-${2000 + u}`);
    }
    const group = await messages.submit({ app: 'dev', from: 1, to: { group: 700 }, text: 'g', priority: 'high' });
    convs.add('g-700');
    const idem = {
      app: 'dev',
      from: 5,
      to: { user: 6 },
      text: 'once',
      priority: 'normal' as const,
      idempotencyKey: 'k1',
    };
    const first = await messages.submit(idem);
    assert.equal((await messages.submit(idem)).view.id, first.view.id);
    convs.add('u-5-6');
    const waited = await messages.submit({
      app: 'dev',
      from: 7,
      to: { user: 8 },
      text: 'w',
      priority: 'low',
      notify: true,
    });
    convs.add('u-7-8');
    const due = await messages.submit({
      app: 'dev', from: 9, to: { user: 10 }, text: 'due', priority: 'normal', sendAt: Date.now() + 50,
    }); // prettier-ignore
    const never = await messages.submit({
      app: 'dev', from: 11, to: { user: 12 }, text: 'never', priority: 'normal', sendAt: Date.now() + 600_000,
    }); // prettier-ignore
    assert.equal((await messages.cancel(never.view.id)).ok, true);
    const waiting = messages.waitForTerminal(waited.view.id, 5000);
    for (const conv of convs) assert.equal(await lanes.process(conv), 'drained');
    assert.equal((await waiting)?.status, 'sent');
    await new Promise((r) => setTimeout(r, 60));
    await reconciler.tick(); // promotes the due message into its lane
    assert.equal(await lanes.process('u-9-10'), 'drained');
    // A lane left without a worker: the reconciler looks at its lock and head in one MULTI, then activates it.
    const orphan = await messages.submit({ app: 'dev', from: 13, to: { user: 14 }, text: 'o', priority: 'normal' });
    await reconciler.tick(Date.now() + 10_000);
    assert.equal(await lanes.process('u-13-14'), 'drained');
    ids.push(orphan.view.id);
    for (const id of [...ids, group.view.id, first.view.id, due.view.id]) {
      assert.equal((await messages.get(id))?.status, 'sent', id);
    }
    assert.equal(await messages.queueDepth(), 0);

    // Batches: an idempotent upload sent chunk by chunk, one paused, resumed and cancelled, one aborted.
    const begun = await batches.begin({
      app: 'dev',
      idempotencyKey: 'b1',
      header: { from: 20, text: 'batch', priority: 'normal' },
    });
    assert.ok('upload' in begun);
    for (let u = 0; u < 1500; u++) await begun.upload.add({ to: { user: 30_000 + u } });
    const id = (await begun.upload.finish()).id;
    const repeat = await batches.begin({
      app: 'dev',
      idempotencyKey: 'b1',
      header: { from: 20, text: 'batch', priority: 'normal' },
    });
    assert.equal('duplicate' in repeat && repeat.duplicate.id, id);
    const chunks = new ChunkProcessor(new BatchStore(conn(), PREFIX), tt, new WorkerStats(), silent, {
      ...CHUNK_DEFAULTS,
      maxMessageAgeMs: 60_000,
      settleMs: 100,
    });
    for (const chunk of [0, 1]) {
      const job = { id: `${id}.${chunk}`, data: { batch: id, chunk }, moveToDelayed: async () => undefined };
      await chunks.process(job, 'token');
    }
    assert.equal((await batches.get(id))?.status, 'completed');
    const other = await batches.begin({ app: 'dev', header: { from: 21, text: 'other', priority: 'low' } });
    assert.ok('upload' in other);
    await other.upload.add({ to: { user: 40_000 } });
    const otherId = (await other.upload.finish()).id;
    assert.equal((await batches.pause(otherId)).ok, true);
    assert.equal((await batches.resume(otherId)).ok, true);
    assert.equal((await batches.cancel(otherId)).ok, true);
    const aborted = await batches.begin({
      app: 'dev',
      idempotencyKey: 'b2',
      header: { from: 22, text: 'x', priority: 'normal' },
    });
    assert.ok('upload' in aborted);
    await aborted.upload.add({ to: { user: 50_000 } });
    await aborted.upload.abort();

    // Rate limits: one bucket per key.
    await new RateLimitStore(conn(), PREFIX).appBucket('dev', 100).take(1);
  } finally {
    await reconciler.stop();
    await messages.close();
    await batches.close();
    await new Promise((r) => setTimeout(r, 50));
    monitor.disconnect();
  }

  const scripts = new Set(seen.filter((s) => /^eval(sha)?$/i.test(s.args[0]!)).map((s) => s.args[1]));
  // ttpush's own (accept, claim, mark, complete, promote, cancel, batch begin/idempotency/finish/claim/chunk/
  // pause/resume/cancel/abort, tokens) and BullMQ's: far more than a broken observation would show.
  assert.ok(scripts.size >= 20, `only ${scripts.size} distinct scripts seen`);
  assert.ok(
    seen.some((s) => s.args[0]!.toLowerCase() === 'multi'),
    'no MULTI seen',
  );
  assert.deepEqual(crossSlot(seen), []);
});
