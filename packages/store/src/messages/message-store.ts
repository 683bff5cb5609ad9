/**
 * The api's side of message data in Redis: accepting and cancelling messages (Lua scripts message-accept and
 * message-cancel, atomic against the workers), reading records, pages of them, the queue depth, the workers'
 * heartbeats. Every method throws ServiceUnavailableError when Redis fails.
 */
import type { Redis } from 'ioredis';
import { MESSAGE_FIELDS as F, type Keys, type MessageStatus, type Owner } from '@ttpush/contract';
import { ScriptError, ScriptStateError } from '../errors.ts';
import { unavailable } from '../redis-errors.ts';
import { defineLuaScripts } from '../scripts-loader.ts';
import { WorkerRegistry, type WorkerBeat } from '../workers.ts';
import { RECENT_INDEX_SIZE, listMessages, type ListPage, type ListQuery } from './message-list.ts';
import { isScheduled, newMessageFields, newMessageRecord, type NewMessage } from './new-message.ts';
import { DEFAULT_RECORD_TTL_MS, parseRecord, type MessageRecord } from './record.ts';

type Arg = string | number;

interface MessageCommands {
  ttMessageAccept(...args: Arg[]): Promise<[1, string, number, 0 | 1] | [0 | ScriptError.KeyReused, string]>;
  ttMessageCancel(...args: Arg[]): Promise<[1] | [ScriptError.Missing] | [ScriptError.WrongState, MessageStatus]>;
}

export interface MessageAcceptInput extends NewMessage {
  /** The request's fingerprint (api idempotency.ts): given with request.idempotencyKey. */
  fingerprint?: string;
}

export type MessageAcceptResult =
  /**
   * Written. `laneLength` is the lane's length with it (0 when scheduled). `takeJob`: its conversation went onto the
   * partition's activations list of its priority while no worker was taking it: add a take job (LaneJobData.take).
   */
  | { status: 'accepted'; record: MessageRecord; laneLength: number; takeJob: boolean }
  /** The Idempotency-Key named this request before: nothing was written. */
  | { status: 'repeat'; firstId: string }
  /** The Idempotency-Key named another request: nothing was written. */
  | { status: 'key_reused'; firstId: string };

export type MessageCancelResult =
  | { status: 'cancelled' }
  /** Already sending or terminal. */
  | { status: 'not_cancellable'; state: MessageStatus }
  | { status: 'missing' };

export interface MessageStoreOptions {
  /** TTPUSH_RECORD_TTL: a terminal record (and a list index entry) is kept this long (default DEFAULT_RECORD_TTL_MS). */
  recordTtlMs?: number;
}

export class MessageStore {
  private readonly redis: Redis & MessageCommands;
  private readonly recordTtlMs: number;
  private readonly workers: WorkerRegistry;

  constructor(
    redis: Redis,
    readonly keys: Keys,
    opts: MessageStoreOptions = {},
  ) {
    this.redis = defineLuaScripts<MessageCommands>(redis, ['message-accept', 'message-cancel']);
    this.workers = new WorkerRegistry(redis, keys.prefix);
    this.recordTtlMs = opts.recordTtlMs ?? DEFAULT_RECORD_TTL_MS;
  }

  /** Writes a new message into its lane (or the scheduled set) and the list indexes, in one script. */
  async accept(m: MessageAcceptInput): Promise<MessageAcceptResult> {
    const k = this.keys;
    const req = m.request;
    const p = k.partition(m.conv);
    const idem = !!req.idempotencyKey;
    const keyIndexed = req.listByKey === true && req.key !== undefined;
    const ttl = this.recordTtlMs;
    // The script leaves the idempotency and key index KEYS alone when their flag is '0': any key of the slot fits.
    const keys = [
      k.message(m.id),
      k.lane(m.conv),
      k.lanes(p),
      idem ? k.idempotency(req.app, req.idempotencyKey!, p) : `${k.tag(p)}:idem:-`,
      k.depth(p),
      k.scheduled(p),
      k.appIndex(req.app, p),
      keyIndexed ? k.keyIndex(req.key!, p) : `${k.tag(p)}:ix:k:-`,
      k.recentIndex(p),
      k.activations(p, req.priority),
      k.activationsBusy(p, req.priority),
    ];
    const argv = [
      m.id,
      m.conv,
      m.now,
      idem ? '1' : '0',
      isScheduled(m) ? req.sendAt! : '',
      idem ? (m.fingerprint ?? '') : '',
      m.now - ttl,
      ttl,
      keyIndexed ? '1' : '0',
      RECENT_INDEX_SIZE,
    ];
    const reply = await this.run(() => this.redis.ttMessageAccept(...keys, ...argv, ...newMessageFields(m)));
    switch (reply[0]) {
      case 1:
        return { status: 'accepted', record: newMessageRecord(m), laneLength: reply[2], takeJob: reply[3] === 1 };
      case 0:
        return { status: 'repeat', firstId: reply[1] };
      case ScriptError.KeyReused:
        return { status: 'key_reused', firstId: reply[1] };
      default:
        throw new ScriptStateError(reply[0], 'message-accept');
    }
  }

  /** Cancels a queued or scheduled message of conversation `conv`, publishing its id to a waiter. */
  async cancel(id: string, conv: string, now = Date.now()): Promise<MessageCancelResult> {
    const k = this.keys;
    const p = k.partition(conv);
    const reply = await this.run(() =>
      this.redis.ttMessageCancel(
        k.message(id),
        k.lane(conv),
        k.scheduled(p),
        k.depth(p),
        id,
        now,
        k.doneChannel,
        this.recordTtlMs,
      ),
    );
    switch (reply[0]) {
      case 1:
        return { status: 'cancelled' };
      case ScriptError.WrongState:
        return { status: 'not_cancellable', state: reply[1] };
      case ScriptError.Missing:
        return { status: 'missing' };
      default:
        throw new ScriptStateError(reply[0], 'message-cancel');
    }
  }

  /** The record of a message, or null when it does not exist (or expired). */
  async record(id: string): Promise<MessageRecord | null> {
    return parseRecord(id, await this.run(() => this.redis.hgetall(this.keys.message(id))));
  }

  /** The app and key id that sent a message (key null for records from before keys were recorded). */
  async owner(id: string): Promise<Owner | null> {
    const [app, key] = await this.run(() => this.redis.hmget(this.keys.message(id), F.app, F.key));
    return app == null ? null : { app, key: key || null };
  }

  /** Makes the worker publish the message's completion on the done channel (a repeat that waits for it). */
  async notifyOnCompletion(id: string): Promise<void> {
    const key = this.keys.message(id);
    await this.run(async () => {
      if (await this.redis.hexists(key, F.status)) await this.redis.hset(key, F.notify, '1');
    });
  }

  /** One page of messages newest first (message-list.ts). */
  list(query: ListQuery): Promise<ListPage> {
    return this.run(() => listMessages(this.redis, this.keys, query));
  }

  /** Messages accepted and not yet terminal, over every partition. */
  async queueDepth(): Promise<number> {
    const depths = await this.run(() => Promise.all(this.keys.all.map((p) => this.redis.get(this.keys.depth(p)))));
    return depths.reduce((sum, d) => sum + Number(d ?? 0), 0);
  }

  /** The workers with a heartbeat within LIVE_HEARTBEAT_MS, with their state. */
  liveWorkers(now = Date.now()): Promise<{ id: string; beat: WorkerBeat }[]> {
    return this.run(() => this.workers.liveWorkers(now));
  }

  private async run<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw unavailable(err);
    }
  }
}
