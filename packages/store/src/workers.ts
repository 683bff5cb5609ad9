/**
 * The workers' heartbeat registry (keys.ts): P:workers, a zset of worker ids by last beat (ms), and P:w:<id>, each
 * worker's state as JSON (WorkerBeat), expiring. Every worker beats once a second; the api's /readyz, `ttpush
 * healthcheck`, the doctor and the workers' in-flight share count a worker live while its last beat is within
 * LIVE_HEARTBEAT_MS.
 *
 * The state and the zset are written by separate commands, not a MULTI: on a cluster they lie on different slots.
 * Readers skip an id listed without its state.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Keys, type DbProxyHealthView } from '@ttpush/contract';

/** A heartbeat older than this is a dead worker (/readyz, healthcheck, doctor and the in-flight share agree). */
export const LIVE_HEARTBEAT_MS = 15_000;
/** A worker's state expires this long after its last beat. */
const STATE_TTL_MS = 15_000;
/** An id silent this long leaves the zset at the next beat of any worker. */
const FORGET_AFTER_MS = 60_000;

export interface WorkerConnectionState {
  role: string;
  address: string;
  status: string;
}

/** What a worker says of itself at each beat. */
export interface WorkerBeat {
  /** Unix ms of the beat. */
  at: number;
  dbProxyReady: boolean;
  routeReady: boolean;
  connections: WorkerConnectionState[];
  /** Absent from workers of older versions. */
  dbProxy?: DbProxyHealthView[];
}

/** A new worker's id, `<host>-<pid>-<6 hex>`: it starts with the host name, which hostOf reads back. */
export function newWorkerId(host = hostname(), pid = process.pid): string {
  return `${host}-${pid}-${randomBytes(3).toString('hex')}`;
}

/** The host of a worker id made by newWorkerId. */
export function hostOf(workerId: string): string {
  return workerId.replace(/-\d+-[0-9a-f]{6}$/, '');
}

export class WorkerRegistry {
  private readonly keys: Keys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new Keys(prefix);
  }

  /** Records worker `id`'s state as of `beat.at`, and forgets ids silent for FORGET_AFTER_MS. */
  async beat(id: string, beat: WorkerBeat): Promise<void> {
    const k = this.keys;
    await Promise.all([
      this.redis.set(k.worker(id), JSON.stringify(beat), 'PX', STATE_TTL_MS),
      this.redis.zadd(k.workers, beat.at, id),
      this.redis.zremrangebyscore(k.workers, '-inf', beat.at - FORGET_AFTER_MS),
    ]);
  }

  /** Worker `id` stops: readers stop counting it at once rather than when its beat grows old. */
  async leave(id: string): Promise<void> {
    await Promise.all([this.redis.del(this.keys.worker(id)), this.redis.zrem(this.keys.workers, id)]);
  }

  /** Live workers (their number), and whether `self` is listed at all: one round trip. */
  async census(self: string, now = Date.now()): Promise<{ live: number; registered: boolean }> {
    const rows = await this.redis
      .pipeline()
      .zcount(this.keys.workers, now - LIVE_HEARTBEAT_MS, '+inf')
      .zscore(this.keys.workers, self)
      .exec();
    if (!rows) throw new Error('the workers census pipeline was discarded');
    for (const [err] of rows) if (err) throw err;
    return { live: Number(rows[0]![1]), registered: rows[1]![1] !== null };
  }

  /** Ids of the workers that beat within LIVE_HEARTBEAT_MS, oldest beat first. */
  liveIds(now = Date.now()): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.workers, now - LIVE_HEARTBEAT_MS, '+inf');
  }

  /** Worker `id`'s last state; undefined once it expired (or when it is not a state). */
  async state(id: string): Promise<WorkerBeat | undefined> {
    const raw = await this.redis.get(this.keys.worker(id));
    if (raw === null) return undefined;
    try {
      return JSON.parse(raw) as WorkerBeat;
    } catch {
      return undefined;
    }
  }

  /** The live workers with their state; one GET per worker, not MGET: on a cluster their keys lie on other slots. */
  async liveWorkers(now = Date.now()): Promise<{ id: string; beat: WorkerBeat }[]> {
    const ids = await this.liveIds(now);
    const states = await Promise.all(ids.map((id) => this.state(id)));
    return ids.flatMap((id, i) => {
      const beat = states[i];
      return beat ? [{ id, beat }] : [];
    });
  }
}
