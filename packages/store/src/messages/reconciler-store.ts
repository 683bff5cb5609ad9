/**
 * What the workers' reconciler reads and changes of message data: due scheduled messages, promoted into their lanes
 * (Lua script message-promote), and lanes listed in P:{pN}:lanes that hold work but may have no worker.
 */
import type { Redis } from 'ioredis';
import { MESSAGE_FIELDS as F, PRIORITIES, messagePartition, type Keys, type Priority } from '@ttpush/contract';
import { ScriptError, ScriptStateError } from '../errors.ts';
import { defineLuaScripts } from '../scripts-loader.ts';

interface ReconcilerCommands {
  ttMessagePromote(...args: (string | number)[]): Promise<number>;
}

export type PromoteResult =
  /** In its lane now; `laneLength` counts it (1: the lane needs a job). */
  | { status: 'promoted'; conv: string; priority: Priority; laneLength: number }
  /** No record (expired): the id left the scheduled set. */
  | { status: 'missing' }
  /** Not scheduled any more (cancelled): the id left the scheduled set. */
  | { status: 'not_scheduled' };

/** A listed lane as the reconciler finds it: locked (a worker has it), or its head (null: empty). */
export type LaneLook = { locked: true } | { locked: false; head: string | null };

export class ReconcilerStore {
  private readonly redis: Redis & ReconcilerCommands;

  constructor(
    redis: Redis,
    readonly keys: Keys,
  ) {
    this.redis = defineLuaScripts<ReconcilerCommands>(redis, ['message-promote']);
  }

  /** Ids of partition `p` scheduled at or before `now`, oldest first, at most `limit`. */
  dueScheduled(p: number, now: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.scheduled(p), '-inf', now, 'LIMIT', 0, limit);
  }

  /** Moves a scheduled message into its conversation's lane. */
  async promote(id: string, now: number): Promise<PromoteResult> {
    const k = this.keys;
    const p = messagePartition(id);
    const [conv, priority, status] = await this.redis.hmget(k.message(id), F.conv, F.priority, F.status);
    if (!conv) {
      // A record without its conversation has ended (finish-record.lua drops it).
      await this.redis.zrem(k.scheduled(p), id);
      return { status: status ? 'not_scheduled' : 'missing' };
    }
    const n = await this.redis.ttMessagePromote(k.message(id), k.lane(conv), k.lanes(p), k.scheduled(p), id, conv, now);
    if (n >= 0) return { status: 'promoted', conv, priority: (priority as Priority | null) ?? 'normal', laneLength: n };
    if (n === ScriptError.Missing) return { status: 'missing' };
    if (n === ScriptError.WrongState) return { status: 'not_scheduled' };
    throw new ScriptStateError(n, 'message-promote');
  }

  /** Conversations of partition `p` listed with work whose last push is before `before` (ms), at most `limit`. */
  staleLanes(p: number, before: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.lanes(p), '-inf', before, 'LIMIT', 0, limit);
  }

  /** Whether a lane is locked, and its head, read together (one MULTI). */
  async look(conv: string): Promise<LaneLook> {
    const k = this.keys;
    const [[, locked], [, head]] = (await this.redis.multi().exists(k.lock(conv)).lindex(k.lane(conv), 0).exec()) as [
      [unknown, number],
      [unknown, string | null],
    ];
    return locked ? { locked: true } : { locked: false, head };
  }

  /** The priority of a message (null: no record, or normal: left out of the record). */
  async priority(id: string): Promise<Priority | null> {
    return (await this.redis.hget(this.keys.message(id), F.priority)) as Priority | null;
  }

  /**
   * The activations lists of partition `p` (message-accept, lane-take) that hold conversations while no worker is
   * taking them (busy unset): their priority and first conversation. Normally a take job is on its way for them; a
   * list whose first conversation stays the same across two looks has none (an api that died before adding it, a
   * taker that died).
   */
  async untaken(p: number): Promise<{ priority: Priority; head: string }[]> {
    const k = this.keys;
    const m = this.redis.multi();
    for (const prio of PRIORITIES) m.lindex(k.activations(p, prio), 0).exists(k.activationsBusy(p, prio));
    const replies = ((await m.exec()) ?? []).map(([, v]) => v);
    const out: { priority: Priority; head: string }[] = [];
    PRIORITIES.forEach((priority, i) => {
      const head = replies[2 * i] as string | null;
      if (head !== null && replies[2 * i + 1] === 0) out.push({ priority, head });
    });
    return out;
  }

  /** Lists a lane as pushed at `at` (ms): the reconciler looks at it again once it is stale. */
  async touch(conv: string, at: number): Promise<void> {
    await this.redis.zadd(this.keys.lanes(this.keys.partition(conv)), at, conv);
  }

  /** Takes an empty lane off the list. A push after the look that found it empty lists it again, freshly scored. */
  async forget(conv: string): Promise<void> {
    await this.redis.zrem(this.keys.lanes(this.keys.partition(conv)), conv);
  }
}
