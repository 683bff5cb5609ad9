// The worker's job dispatch over a real redis-server and a real BullMQ worker: each job name reaches its own
// processor with its payload; a name the contract lacks fails the job with UnknownJobError, logged.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { CHUNK_JOB, LANE_JOB, LANE_QUEUE, partitionTag } from '@ttpush/contract';
import { LaneQueues, consumerRedis } from '@ttpush/store';
import { RedisServer } from '@ttpush/testkit';
import { JobDispatch, UnknownJobError, type AnyJob, type Processors } from '../src/dispatch.ts';

const PREFIX = 'tdispatch';
let server: RedisServer;
const conns: Redis[] = [];

function conn(): Redis {
  const r = consumerRedis(server.url);
  conns.push(r);
  return r;
}

function capture() {
  const lines: { level: number; msg: string; job?: string; err?: { code?: string; message?: string } }[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

/** A BullMQ worker on partition 0's queue, its outcomes collected. */
function worker(dispatch: JobDispatch) {
  const done: { name: string; result?: string; err?: Error }[] = [];
  const w = new Worker<unknown, string, string>(LANE_QUEUE, dispatch.process, {
    connection: conn(),
    prefix: partitionTag(PREFIX, 0),
  });
  w.on('completed', (job, result) => done.push({ name: job.name, result }));
  w.on('failed', (job: AnyJob | undefined, err) => {
    dispatch.failed(job, err);
    done.push({ name: job?.name ?? '?', err });
  });
  return { w, done };
}

async function until(ok: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (!ok()) {
    assert.ok(Date.now() < end, `waited for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

before(async () => {
  server = await RedisServer.start();
});
after(async () => {
  for (const r of conns) r.disconnect();
  await server?.stop();
});

test('a job of each name reaches its own processor with its payload', async () => {
  const seen: unknown[] = [];
  const processors: Processors = {
    [LANE_JOB]: async (job, token) => {
      seen.push({ name: job.name, convs: job.data.convs, token: typeof token });
      return `lanes ${job.data.convs?.join(',')}`;
    },
    [CHUNK_JOB]: async (job) => {
      seen.push({ name: job.name, batch: job.data.batch, chunk: job.data.chunk });
      return `chunk ${job.data.batch}.${job.data.chunk}`;
    },
  };
  const { log } = capture();
  const queues = new LaneQueues(conn(), PREFIX, 1);
  const { w, done } = worker(new JobDispatch(processors, log));
  try {
    await queues.partition(0).add(LANE_JOB, { convs: ['u-1-2', 'g-7'] });
    await queues.partition(0).add(CHUNK_JOB, { batch: 'bat_1', chunk: 3 });
    await until(() => done.length === 2, 'both jobs');
    assert.deepEqual(
      done.map((d) => [d.name, d.result]),
      [
        [LANE_JOB, 'lanes u-1-2,g-7'],
        [CHUNK_JOB, 'chunk bat_1.3'],
      ],
    );
    assert.deepEqual(seen, [
      { name: LANE_JOB, convs: ['u-1-2', 'g-7'], token: 'string' },
      { name: CHUNK_JOB, batch: 'bat_1', chunk: 3 },
    ]);
  } finally {
    await w.close();
    await queues.close();
  }
});

test('a job of an unknown name fails with UnknownJobError, logged with its code; no processor runs', async () => {
  let ran = 0;
  const processors: Processors = {
    [LANE_JOB]: async () => String(++ran),
    [CHUNK_JOB]: async () => String(++ran),
  };
  const { log, lines } = capture();
  // A newer deployment's job: added through a plain queue, as the contract here does not name it.
  const newer = new Queue(LANE_QUEUE, { connection: conn(), prefix: partitionTag(PREFIX, 0) });
  const { w, done } = worker(new JobDispatch(processors, log));
  try {
    const job = await newer.add('digest', { user: 5 }, { attempts: 1 });
    await until(() => done.length === 1, 'the job to fail');
    assert.ok(done[0]!.err instanceof UnknownJobError);
    assert.equal(ran, 0);
    assert.match((await newer.getJob(job.id!))!.failedReason, /unknown job name "digest"/);
    const line = lines.find((l) => l.job === 'digest');
    assert.ok(line, 'the failure is logged');
    assert.equal(line.level, 50);
    assert.equal(line.err?.code, 'unknown_job');
  } finally {
    await w.close();
    await newer.close();
  }
});

// Checked by the typecheck: a table without a processor for a name, and a payload under another name's job.
export function doesNotCompile(queues: LaneQueues): Processors {
  // @ts-expect-error a chunk payload under the lane name
  void queues.partition(0).add(LANE_JOB, { batch: 'bat_1', chunk: 0 });
  // @ts-expect-error no processor for chunk jobs
  return { [LANE_JOB]: async () => '' };
}
