/**
 * A worker process: TeamTalk pools, one BullMQ worker per partition's queue that sends conversation lanes and
 * batch chunks, the reconciler, stats flushing and the heartbeat that /readyz reads.
 */
import { randomBytes } from 'node:crypto';
import { Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '@ttpush/config';
import { CHUNK_JOB, JOB_PRIORITY, Keys, LANE_JOB, LANE_QUEUE, partitionTag } from '@ttpush/contract';
import { runTake, type TakeDeps } from './activations.ts';

/** Heads a take reads per lane it claims: enough for a lane of a few messages, the lane claims more itself. */
const TAKE_PEEK = 8;
import {
  BatchStore,
  LaneQueues,
  LaneStore,
  ReconcilerStore,
  StatsStore,
  WorkerRegistry,
  consumerRedis,
  redisTarget,
  newWorkerId,
  type LaneClaim,
} from '@ttpush/store';
import { TeamTalk } from './teamtalk.ts';
import { LaneProcessor } from './lane-processor.ts';
import { Reconciler } from './reconciler.ts';
import { WorkerStats } from './stats.ts';
import { DbProxyHealth } from './db-proxy-health.ts';
import { CHUNK_DEFAULTS, ChunkProcessor } from './chunk-processor.ts';
import { RateThrottles } from './rate-throttles.ts';
import { InFlightGate, InFlightShare } from './in-flight-gate.ts';
import { startWebhooks } from './webhooks/start-webhooks.ts';
import { JobDispatch, type JobOf } from './dispatch.ts';

const TIMED_OUT = Symbol('timed out');

/** Waits for `p`, at most `ms` (then answers TIMED_OUT); the timer does not keep the process alive. */
function withDeadline(p: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise((r) => (timer = setTimeout(() => r(TIMED_OUT), ms)));
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

export interface RunningWorker {
  id: string;
  teamtalk: TeamTalk;
  /** Stops taking work, finishes (or safely returns) in-flight messages, closes connections. Idempotent. */
  close(deadlineMs?: number): Promise<void>;
}

export async function startWorker(config: Config, logger: Logger): Promise<RunningWorker> {
  const target = redisTarget(config);
  if (!target) throw new Error('startWorker needs config.redisUrl or config.redisClusterNodes');
  const id = newWorkerId();
  const log = logger.child({ worker: id });
  const keys = new Keys(config.redisPrefix, config.redisPartitions);
  // The lanes' scripts, heartbeats and stats: commands issued in one tick by concurrent lanes and chunks go out as one
  // write (a profile of the worker under single sends showed a third of its busy time in per-command socket writes).
  const redis = consumerRedis(target, { enableAutoPipelining: true });
  const bullConnection = consumerRedis(target);
  const queueConnection = consumerRedis(target);
  for (const r of [redis, bullConnection, queueConnection]) {
    r.on('error', (err: Error) => log.debug({ err }, 'redis connection error'));
  }
  // The heartbeat (read by /readyz, healthcheck, the doctor and the other workers' in-flight share) and counters.
  const registry = new WorkerRegistry(redis, config.redisPrefix);
  const statsWriter = new StatsStore(redis, config.redisPrefix);
  const teamtalk = new TeamTalk(config, log);
  teamtalk.start().catch((err: unknown) => log.warn({ err }, 'TeamTalk not reachable yet; retrying in the background'));

  // Throttles towards db_proxy_server, shared with the other workers through Redis (rate-throttles.ts,
  // in-flight-gate.ts), applied by TeamTalk to every request; batch chunks also take their app's tokens.
  // The in-flight share starts at 0: it opens once the other workers have seen this one.
  const throttles = new RateThrottles(redis, config);
  const share =
    config.teamtalk.maxInFlightTotal > 0
      ? new InFlightShare(registry, id, config.teamtalk.maxInFlightTotal, new InFlightGate(0), log)
      : undefined;
  teamtalk.gate = share?.gate;
  teamtalk.rate = throttles.global;

  const stats = new WorkerStats();
  const laneStore = new LaneStore(redis, keys, { recordTtlMs: config.recordTtlMs });
  const lanes = new LaneProcessor(laneStore, teamtalk, stats, log, {
    lockMs: config.worker.lockMs,
    maxMessageAgeMs: config.worker.maxMessageAgeMs,
    replyTimeoutMs: config.teamtalk.replyTimeoutMs,
    settleMs: config.teamtalk.settleMs,
  });
  const dbHealth = new DbProxyHealth(teamtalk.db, log);
  lanes.health = dbHealth;
  // One batch store: the chunks, the webhooks' batch.completed and the reconciler's batch index share it.
  const batchStore = new BatchStore(redis, config.redisPrefix, { finishedTtlMs: config.recordTtlMs });
  const chunks = new ChunkProcessor(
    batchStore,
    teamtalk,
    stats,
    log,
    { ...CHUNK_DEFAULTS, maxMessageAgeMs: config.worker.maxMessageAgeMs, settleMs: config.teamtalk.settleMs },
    throttles,
  );
  // Before the BullMQ workers start: no terminal state may pass without its events.
  const webhooks = startWebhooks(config, batchStore, stats, log);
  lanes.events = webhooks.emitter;
  chunks.health = dbHealth;
  chunks.events = webhooks.emitter;

  const queues = new LaneQueues(queueConnection, config.redisPrefix, keys.partitions, (err) =>
    log.debug({ err }, 'queue error'),
  );
  const sendLane = async (conv: string, first?: { token: string; claim: LaneClaim }) => {
    const result = await lanes.process(conv, first);
    // Hand the rest of a lane to another worker at once rather than after the lock expires.
    if (result === 'stopped') await laneStore.handBack(conv);
    return result;
  };
  const takeDeps: TakeDeps = {
    store: laneStore,
    send: (conv, first) =>
      sendLane(conv, first).catch((err: unknown) => {
        // Still listed in P:lanes: the reconciler activates it again.
        log.warn({ err, conv }, 'lane failed; the reconciler takes it up again');
        throw err;
      }),
    stopping: () => lanes.stopping,
    // A lane taken is claimed in the take's own call; a few heads only (the lane claims the rest itself).
    claim: () => ({ tokenPrefix: `${randomBytes(9).toString('base64')}:`, ...lanes.claimOptions(), peek: TAKE_PEEK }),
    requeue: async (partition, priority) => {
      await queues
        .partition(partition)
        .add(
          LANE_JOB,
          { take: priority, partition },
          { priority: JOB_PRIORITY[priority], removeOnComplete: true, removeOnFail: true },
        );
    },
  };
  const processLanes = async (job: JobOf<typeof LANE_JOB>) => {
    const { take, partition } = job.data;
    if (take !== undefined && partition !== undefined) return `took ${await runTake(takeDeps, partition, take)}`;
    const convs = job.data.convs ?? (job.data.conv ? [job.data.conv] : []);
    return (await Promise.all(convs.map((conv) => sendLane(conv)))).join(',');
  };
  const dispatch = new JobDispatch(
    { [LANE_JOB]: processLanes, [CHUNK_JOB]: (job, token) => chunks.process(job, token) },
    log,
  );
  // One BullMQ worker per partition's queue. TTPUSH_WORKER_CONCURRENCY is shared out among them (a job takes up
  // to 64 lanes): a worker process does not take more jobs than it can start, so others on other machines get them.
  const perPartition = Math.max(1, Math.ceil(config.worker.concurrency / keys.partitions));
  const workers = keys.all.map(
    (p) =>
      new Worker<unknown, string, string>(LANE_QUEUE, dispatch.process, {
        connection: bullConnection,
        prefix: partitionTag(config.redisPrefix, p),
        concurrency: perPartition,
        lockDuration: Math.max(config.worker.lockMs, 5000),
        stalledInterval: Math.max(Math.floor(config.worker.lockMs / 2), 2000),
        maxStalledCount: 1_000_000,
        autorun: true,
      }),
  );
  for (const worker of workers) {
    worker.on('error', (err) => log.debug({ err }, 'bullmq worker error'));
    worker.on('failed', dispatch.failed);
  }

  const reconciler = new Reconciler(new ReconcilerStore(redis, keys), batchStore.index, queues, log);
  reconciler.start();

  const beat = async () => {
    const now = Date.now();
    const ready = teamtalk.ready;
    const connections = [
      ...teamtalk.db.status().map((c) => ({ role: 'db_proxy', address: c.address, status: c.status })),
      ...teamtalk.route.status().map((c) => ({ role: 'route', address: c.address, status: c.status })),
    ];
    const dbProxy = dbHealth.report();
    for (const [address, n] of dbHealth.takeCounts()) stats.unanswered(address, n);
    await registry.beat(id, { at: now, dbProxyReady: ready.dbProxy, routeReady: ready.route, connections, dbProxy });
    await stats.flush(statsWriter);
  };
  const heartbeat = setInterval(() => beat().catch(() => undefined), 1000);
  beat().catch(() => undefined);
  share?.start();
  log.info({ concurrency: config.worker.concurrency }, 'worker started');

  let closing: Promise<void> | undefined;
  const close = (deadlineMs = 15_000) =>
    (closing ??= (async () => {
      log.info('worker stopping: no new lanes; finishing in-flight messages');
      lanes.stopping = true;
      chunks.stopping = true;
      const steps: [string, () => Promise<unknown>][] = [
        ['bullmq worker', () => Promise.all(workers.map((w) => w.close()))],
        ['reconciler', () => reconciler.stop()],
        ['webhooks', () => webhooks.close()],
        ['heartbeat', async () => {
          clearInterval(heartbeat);
          share?.stop();
          await stats.flush(statsWriter);
          await registry.leave(id);
        }],
        ['teamtalk', () => teamtalk.close()],
        ['queue', () => queues.close()],
        ['redis', async () => {
          for (const r of [redis, bullConnection, queueConnection]) r.disconnect();
        }],
      ]; // prettier-ignore
      // Every step has the deadline: with Redis unreachable, a flush or a BullMQ close would wait for ever (the
      // worker's connections retry without limit) and hold the process after SIGTERM.
      // One budget for all of them; the last steps (closing sockets) still get a second each.
      const end = Date.now() + deadlineMs;
      for (const [name, step] of steps) {
        try {
          if ((await withDeadline(step(), Math.max(1000, end - Date.now()))) === TIMED_OUT) {
            log.warn({ step: name, deadlineMs }, 'shutdown step did not finish in time; going on');
          }
        } catch (err) {
          log.warn({ step: name, err }, 'shutdown step failed');
        }
      }
      log.info('worker stopped');
    })());

  return { id, teamtalk, close };
}
