/**
 * Redis key layout, in one place. Every key starts with the configured prefix.
 *
 *   P:m:<id>        hash   one message (fields in record.ts)
 *   P:lane:<conv>   list   ids of a conversation's messages not yet finished, in acceptance order
 *   P:lanes         zset   conversations with work (score: last push, ms): the reconciler's view
 *   P:lock:<conv>   string the worker currently sending a conversation (token, with expiry)
 *   P:conv:<conv>   hash   last msg_id / create_time / text hash ttpush stored in a conversation
 *   P:sched         zset   scheduled message ids by send time (ms)
 *   P:idem:<app>:<key>     first message id of an Idempotency-Key (24 h)
 *   P:depth         int    accepted messages not yet terminal
 *   P:stats         hash   counters flushed by workers (sent, failed by code, latency buckets)
 *   P:workers       zset   worker ids by last heartbeat (ms); P:w:<id> their state (JSON, expiring)
 *   P:done          channel  ids of finished messages somebody waits for
 */
import type { Recipient } from './types.ts';

/** Conversation key: single messages share one counter per unordered user pair (notes §6). */
export function conversationOf(from: number, to: Recipient): string {
  if ('group' in to) return `g-${to.group}`;
  const a = Math.min(from, to.user);
  const b = Math.max(from, to.user);
  return `u-${a}-${b}`;
}

export class Keys {
  constructor(readonly prefix: string) {}
  message(id: string): string {
    return `${this.prefix}:m:${id}`;
  }
  lane(conv: string): string {
    return `${this.prefix}:lane:${conv}`;
  }
  lock(conv: string): string {
    return `${this.prefix}:lock:${conv}`;
  }
  conv(conv: string): string {
    return `${this.prefix}:conv:${conv}`;
  }
  idempotency(app: string, key: string): string {
    return `${this.prefix}:idem:${app}:${key}`;
  }
  get lanes(): string {
    return `${this.prefix}:lanes`;
  }
  get scheduled(): string {
    return `${this.prefix}:sched`;
  }
  get depth(): string {
    return `${this.prefix}:depth`;
  }
  get stats(): string {
    return `${this.prefix}:stats`;
  }
  get workers(): string {
    return `${this.prefix}:workers`;
  }
  worker(id: string): string {
    return `${this.prefix}:w:${id}`;
  }
  get doneChannel(): string {
    return `${this.prefix}:done`;
  }
}

/** BullMQ queue of conversation activations ("send what lane X holds"). Never rename: deployed workers read it. */
export const LANE_QUEUE = 'lanes';
export const LANE_JOB = 'lane';
/** One lane (`conv`, from the reconciler) or several activated in the same tick by one api (`convs`). */
export interface LaneJobData {
  conv?: string;
  convs?: string[];
}

/** BullMQ priorities (lower runs first). */
export const JOB_PRIORITY = { high: 1, normal: 2, low: 3 } as const;

/** Job ids may not contain ':' in BullMQ. */
export function laneJobId(conv: string, headId: string): string {
  return `${conv}.${headId}`;
}

export const MESSAGE_ID = /^msg_[0-9a-z]{10,40}$/;
