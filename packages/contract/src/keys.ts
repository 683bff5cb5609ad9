/**
 * Redis key layout, in one place. Every key starts with the configured prefix P. Keys a script touches
 * together carry the hash tag of their partition, P:{pN} (partitions.ts), so they share one Redis Cluster slot.
 *
 *   P:{pN}:m:<id>       hash   one message (fields in record.ts); N is the partition its id carries
 *   P:{pN}:lane:<conv>  list   ids of a conversation's messages not yet finished, in acceptance order
 *   P:{pN}:lanes        zset   the partition's conversations with work (score: last push, ms): the reconciler's view
 *   P:{pN}:lock:<conv>  string the worker currently sending a conversation (token, with expiry)
 *   P:{pN}:act:<prio>   list   conversations whose lane just became non-empty, by priority, waiting for a worker to
 *                              take them (lane-take): one BullMQ job per burst of activations, not one per tick
 *   P:{pN}:act:<prio>:busy  string  a worker is taking that list and will take again (with expiry): accepts meanwhile
 *                              add no job
 *   P:{pN}:conv:<conv>  hash   last msg_id / create_time / text hash ttpush stored in a conversation
 *   P:{pN}:sched        zset   the partition's scheduled message ids by send time (ms)
 *   P:{pN}:idem:<app>:<key>   "<first message id> <request fingerprint>" of an Idempotency-Key (24 h), in the partition
 *                             of the request's conversation (a bare id: written before fingerprints)
 *   P:{pN}:depth        int    the partition's accepted messages not yet terminal (queue depth: the sum)
 *   P:{pN}:ix:a:<app>   zset   the app's message ids of the partition by accept time (ms): GET /v1/messages
 *   P:{pN}:ix:k:<key>   zset   the same for one key, written only for keys without read_all (they list their own)
 *   P:{pN}:ix:recent    zset   the partition's newest message ids of every app (capped): the console's list
 *   P:{pN}:lanes:*      BullMQ the partition's queue of lane activations and batch chunks (lane-queues.ts)
 *   P:stats             hash   counters flushed by workers (sent, failed by code, latency buckets): single-key commands
 *   P:workers           zset   worker ids by last heartbeat (ms); P:w:<id> their state (JSON, expiring)
 *   P:done              channel  outcomes of finished messages somebody waits for (store done-channel.ts)
 */
import type { Recipient } from './message.ts';
import { DEFAULT_PARTITIONS, checkPartitions, partitionOf, partitionTag } from './partitions.ts';
import { messagePartition } from './ids.ts';

/** Conversation key: single messages share one counter per unordered user pair (notes §6). */
export function conversationOf(from: number, to: Recipient): string {
  if ('group' in to) return `g-${to.group}`;
  const a = Math.min(from, to.user);
  const b = Math.max(from, to.user);
  return `u-${a}-${b}`;
}

export class Keys {
  readonly partitions: number;
  constructor(
    readonly prefix: string,
    partitions = DEFAULT_PARTITIONS,
  ) {
    this.partitions = checkPartitions(partitions);
  }
  /** The partition of a conversation. */
  partition(conv: string): number {
    return partitionOf(conv, this.partitions);
  }
  /** Every partition number, 0..N-1. */
  get all(): number[] {
    return Array.from({ length: this.partitions }, (_, p) => p);
  }
  tag(partition: number): string {
    return partitionTag(this.prefix, partition);
  }
  message(id: string): string {
    return `${this.tag(messagePartition(id))}:m:${id}`;
  }
  /** What a message key is made of before its id (the lane's CLAIM script reads records by it). */
  messagePrefix(partition: number): string {
    return `${this.tag(partition)}:m:`;
  }
  lane(conv: string): string {
    return `${this.tag(this.partition(conv))}:lane:${conv}`;
  }
  lock(conv: string): string {
    return `${this.tag(this.partition(conv))}:lock:${conv}`;
  }
  conv(conv: string): string {
    return `${this.tag(this.partition(conv))}:conv:${conv}`;
  }
  idempotency(app: string, key: string, partition: number): string {
    return `${this.tag(partition)}:idem:${app}:${key}`;
  }
  /** Conversations activated at `priority` and not yet taken by a worker (lane-take.lua). */
  activations(partition: number, priority: string): string {
    return `${this.tag(partition)}:act:${priority}`;
  }
  /** Set while a worker is taking `activations(partition, priority)` and will take again. */
  activationsBusy(partition: number, priority: string): string {
    return `${this.tag(partition)}:act:${priority}:busy`;
  }
  lanes(partition: number): string {
    return `${this.tag(partition)}:lanes`;
  }
  scheduled(partition: number): string {
    return `${this.tag(partition)}:sched`;
  }
  depth(partition: number): string {
    return `${this.tag(partition)}:depth`;
  }
  /** Message ids an app accepted in the partition, by accept time (message-list.ts). */
  appIndex(app: string, partition: number): string {
    return `${this.tag(partition)}:ix:a:${app}`;
  }
  /** Message ids one key accepted in the partition, by accept time: kept for keys without read_all only. */
  keyIndex(key: string, partition: number): string {
    return `${this.tag(partition)}:ix:k:${key}`;
  }
  /** The partition's newest message ids of every app, capped at RECENT_INDEX_SIZE. */
  recentIndex(partition: number): string {
    return `${this.tag(partition)}:ix:recent`;
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

export const MESSAGE_ID = /^msg_[0-9a-z]{10,40}$/;
