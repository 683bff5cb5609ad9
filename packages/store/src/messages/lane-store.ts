/**
 * A worker's side of a conversation lane in Redis: the lock that makes one worker send a lane at a time, the marks
 * around each send and the completion, each one Lua script (lane-*.lua) so that a message's state, its lane, the
 * lock and the queue depth change together. Every method takes the conversation and builds its keys (keys.ts); a
 * lock token is the caller's own random value.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { FailureCode, Keys, MessageStatus, Priority } from '@ttpush/contract';
import { ScriptError, ScriptStateError } from '../errors.ts';
import { defineLuaScripts } from '../scripts-loader.ts';
import { DEFAULT_RECORD_TTL_MS, parseRecord, type MessageRecord, type RecordHash } from './record.ts';

type Arg = string | number;
type ClaimReply = [ScriptError.LockLost] | [0] | [1, string, string, string, number | string, ...(string | string[])[]];

interface LaneCommands {
  ttLaneClaim(...args: Arg[]): Promise<ClaimReply>;
  ttLaneExtend(...args: Arg[]): Promise<number>;
  ttLaneRelease(...args: Arg[]): Promise<number>;
  ttLaneDropHead(...args: Arg[]): Promise<number>;
  ttLaneMarkSending(
    ...args: Arg[]
  ): Promise<[1] | [ScriptError.LockLost] | [ScriptError.Missing] | [ScriptError.WrongState, MessageStatus]>;
  ttLaneComplete(...args: Arg[]): Promise<[number, number, number]>;
  ttLaneTake(...args: Arg[]): Promise<[number, ...(string | ClaimReply)[]]>;
}

const SCRIPTS = [
  'lane-claim',
  'lane-extend',
  'lane-release',
  'lane-drop-head',
  'lane-mark-sending',
  'lane-complete',
  'lane-take',
];

/** The lock token lane-take gives a conversation it claims: the caller's prefix and the conversation. */
export function claimTokenOf(prefix: string, conv: string): string {
  return prefix + conv;
}

/** The last message ttpush stored in a conversation (CONV_FIELDS): a new send's floor and create_time come from it. */
export interface ConvState {
  lastMsgId: number;
  lastCreateTime: number;
  lastHash: string;
}

/**
 * A text's hash as a conversation keeps its last one (lh, written by `complete`): the first 16 hex digits of its
 * SHA-1, which the claim script computes too (redis.sha1hex) when it picks a create_time. It used to be 12 base64
 * characters: a conversation whose last hash is in that form matches no new hash, so at the upgrade its next message
 * alone escapes the rule "two identical texts in one second: the later takes the next second" (which matters only
 * when that message repeats the last text within the same second); its completion writes the new form.
 */
export function textHash(text: string): string {
  return createHash('sha1').update(text).digest('hex').slice(0, 16);
}

export type LaneClaim =
  /** Another worker holds the lane's lock. */
  | { status: 'busy' }
  /** The lane is empty: the lock is released and the lane left P:lanes, atomically. */
  | { status: 'drained' }
  /**
   * The lock is ours: the conversation's state and the lane's first messages (record null: gone), as read before
   * `marked`: when not null, the first message was marked `sending` by the claim with this create_time and floor (the
   * conversation's lastMsgId), an attempt counted, and is to be sent at once.
   */
  | {
      status: 'claimed';
      state: ConvState;
      heads: { id: string; record: MessageRecord | null }[];
      marked: MarkedSend | null;
    };

/**
 * A message the store marked `sending` itself (claim, complete), an attempt counted: the worker sends it at once with
 * this create_time and floor (the conversation's last msg_id). The store marks one only when a new attempt of it is
 * due: queued (one found `sending` is read back first), not past its deadline nor past `maxMessageAgeMs` from its
 * send time (or acceptance). Its create_time is now's second, or the conversation's last create_time + 1 when that
 * second is not past it and its textHash is the conversation's last hash: the worker's rule, decided in the script.
 */
export interface MarkedSend {
  createTime: number;
  floor: number;
}

/** Asks a claim to mark the lane's first message `sending` when a new attempt of it is due at `now` (MarkedSend). */
export interface ClaimMark {
  now: number;
  maxMessageAgeMs: number;
}

export interface Completed {
  /** The lane's remaining length (0: drained). */
  left: number;
  /** The `next` message asked for, marked `sending` (MarkedSend); null when it was not (not due, not the head). */
  marked: MarkedSend | null;
}

export type MarkSendingResult =
  | { status: 'marked' }
  /** The lock is not ours any more: stop sending the lane. */
  | { status: 'lost' }
  | { status: 'missing' }
  /** Neither queued nor sending (cancelled, or finished by another worker). */
  | { status: 'not_queued'; state: MessageStatus };

export type MessageOutcome =
  | { status: 'sent'; msgId: number; createTime: number; textHash: string }
  | { status: 'failed'; code: FailureCode; message: string };

export interface LaneStoreOptions {
  /** TTPUSH_RECORD_TTL: a terminal record is kept this long (default DEFAULT_RECORD_TTL_MS). */
  recordTtlMs?: number;
}

/** What lane-claim (and lane-take, per conversation) returns, decoded. */
function parseClaim(r: ClaimReply): LaneClaim {
  switch (r[0]) {
    case ScriptError.LockLost:
      return { status: 'busy' };
    case 0:
      return { status: 'drained' };
    case 1: {
      const heads: { id: string; record: MessageRecord | null }[] = [];
      for (let i = 5; i < r.length; i += 2) {
        const id = r[i] as string;
        heads.push({ id, record: parseRecord(id, hash(r[i + 1] as string[])) });
      }
      const state = { lastMsgId: Number(r[1]), lastCreateTime: Number(r[2]), lastHash: String(r[3]) };
      const ct = Number(r[4]);
      const marked = ct > 0 ? { createTime: ct, floor: state.lastMsgId } : null;
      return { status: 'claimed', state, heads, marked };
    }
    default:
      throw new ScriptStateError(r[0] as number, 'lane-claim');
  }
}

function hash(fields: string[]): RecordHash {
  const h: RecordHash = {};
  for (let f = 0; f < fields.length; f += 2) h[fields[f]!] = fields[f + 1]!;
  return h;
}

export class LaneStore {
  private readonly redis: Redis & LaneCommands;
  private readonly recordTtlMs: number;

  constructor(
    redis: Redis,
    readonly keys: Keys,
    opts: LaneStoreOptions = {},
  ) {
    this.redis = defineLuaScripts<LaneCommands>(redis, SCRIPTS);
    this.recordTtlMs = opts.recordTtlMs ?? DEFAULT_RECORD_TTL_MS;
  }

  /**
   * Takes (or keeps) the lane's lock for `lockMs` and reads its first `peek` messages, in one round trip; with
   * `mark`, marks the first one `sending` when a new attempt of it is due (MarkedSend) in the same round trip.
   */
  async claim(c: { conv: string; token: string; lockMs: number; peek: number; mark?: ClaimMark }): Promise<LaneClaim> {
    const k = this.keys;
    const p = k.partition(c.conv);
    const reply = await this.redis.ttLaneClaim(
      k.lock(c.conv),
      k.lane(c.conv),
      k.lanes(p),
      k.conv(c.conv),
      c.token,
      c.lockMs,
      c.peek,
      k.messagePrefix(p),
      c.conv,
      c.mark ? 1 : 0,
      c.mark?.now ?? 0,
      c.mark?.maxMessageAgeMs ?? 0,
    );
    return parseClaim(reply);
  }

  /** Extends the lock while it is ours; false when it is not (any more). */
  async extend(c: { conv: string; token: string; lockMs: number }): Promise<boolean> {
    return (await this.redis.ttLaneExtend(this.keys.lock(c.conv), c.token, c.lockMs)) === 1;
  }

  /** Releases the lock whatever the lane holds (a worker stopping); false when it was not ours. */
  async release(c: { conv: string; token: string }): Promise<boolean> {
    return (await this.redis.ttLaneRelease(this.keys.lock(c.conv), c.token)) === 1;
  }

  /** Drops the lane's head when it is `id` (a message that no longer needs sending); false when it is not. */
  async dropHead(c: { conv: string; id: string }): Promise<boolean> {
    return (await this.redis.ttLaneDropHead(this.keys.lane(c.conv), c.id)) === 1;
  }

  /**
   * Marks a message as being sent under the lane's lock, with the create_time and floor (the conversation's last
   * msg_id known) a read-back looks for, and counts the attempt.
   */
  async markSending(c: {
    id: string;
    conv: string;
    token: string;
    now: number;
    createTime: number;
    floor: number;
  }): Promise<MarkSendingResult> {
    const k = this.keys;
    const reply = await this.redis.ttLaneMarkSending(
      k.message(c.id),
      k.lock(c.conv),
      c.token,
      c.now,
      c.createTime,
      c.floor,
    );
    switch (reply[0]) {
      case 1:
        return { status: 'marked' };
      case ScriptError.LockLost:
        return { status: 'lost' };
      case ScriptError.Missing:
        return { status: 'missing' };
      case ScriptError.WrongState:
        return { status: 'not_queued', state: reply[1] };
      default:
        throw new ScriptStateError(reply[0], 'lane-mark-sending');
    }
  }

  /**
   * Records a message's terminal outcome (a record already terminal keeps its own), takes it off its lane and, when
   * the lane is left empty, releases the lock. A sent message's msg_id becomes the conversation's last when newer.
   * With `next` (the message the caller sends next), while the lock is ours and `next.id` heads the lane once this
   * one is off it, marks it `sending` when a new attempt of it is due (MarkedSend), in the same round trip.
   */
  async complete(c: {
    id: string;
    conv: string;
    token: string;
    now?: number;
    outcome: MessageOutcome;
    next?: { id: string; maxMessageAgeMs: number };
  }): Promise<Completed> {
    const k = this.keys;
    const p = k.partition(c.conv);
    const o = c.outcome;
    const sent = o.status === 'sent';
    const keys = [k.message(c.id), k.lane(c.conv), k.conv(c.conv), k.depth(p), k.lock(c.conv), k.lanes(p)];
    const argv = [
      c.id,
      o.status,
      c.now ?? Date.now(),
      sent ? o.msgId : 0,
      sent ? '' : o.code,
      sent ? '' : o.message,
      sent ? o.createTime : 0,
      sent ? o.textHash : '',
      c.token,
      c.conv,
      k.doneChannel,
      this.recordTtlMs,
      c.next?.id ?? '',
      k.messagePrefix(p),
      c.next?.maxMessageAgeMs ?? 0,
    ];
    const [left, ct, floor] = await this.redis.ttLaneComplete(...keys, ...argv);
    return { left, marked: ct > 0 ? { createTime: ct, floor } : null };
  }

  /**
   * Takes up to `max` conversations activated at `priority` in partition `p` (lane-take.lua), marking the list busy
   * for `busyMs` so accepts add no job meanwhile. An empty take clears busy, unless `again` (the taker has lanes in
   * flight and will take again). `left`: what stays in the list.
   */
  async take(
    p: number,
    priority: Priority,
    max: number,
    busyMs: number,
    again = false,
  ): Promise<{ convs: string[]; left: number }> {
    const k = this.keys;
    const [left, ...convs] = (await this.redis.ttLaneTake(
      k.activations(p, priority),
      k.activationsBusy(p, priority),
      max,
      busyMs,
      again ? '1' : '0',
      '0',
    )) as [number, ...string[]];
    return { convs, left };
  }

  /**
   * take, and claims each conversation taken in the same call, as claim would with the lock token
   * `claimTokenOf(c.tokenPrefix, conv)`: a lane of one message costs no round trip of its own before its send.
   */
  async takeAndClaim(
    p: number,
    priority: Priority,
    max: number,
    busyMs: number,
    again: boolean,
    c: { tokenPrefix: string; lockMs: number; peek: number; mark?: ClaimMark },
  ): Promise<{ taken: { conv: string; token: string; claim: LaneClaim }[]; left: number }> {
    const k = this.keys;
    const [left, ...rest] = await this.redis.ttLaneTake(
      k.activations(p, priority),
      k.activationsBusy(p, priority),
      max,
      busyMs,
      again ? '1' : '0',
      '1',
      c.tokenPrefix,
      c.lockMs,
      c.peek,
      k.tag(p),
      c.mark ? '1' : '0',
      c.mark?.now ?? 0,
      c.mark?.maxMessageAgeMs ?? 0,
    );
    const taken: { conv: string; token: string; claim: LaneClaim }[] = [];
    for (let i = 0; i < rest.length; i += 2) {
      const conv = rest[i] as string;
      taken.push({ conv, token: claimTokenOf(c.tokenPrefix, conv), claim: parseClaim(rest[i + 1] as ClaimReply) });
    }
    return { taken, left };
  }

  /** Stops taking: clears busy, so the next accept asks for a job. The conversations left in the list. */
  async letGo(p: number, priority: Priority): Promise<number> {
    const k = this.keys;
    const [left] = await this.redis.ttLaneTake(k.activations(p, priority), k.activationsBusy(p, priority), 0, 0, '0');
    return left;
  }

  /**
   * Hands a lane a stopping worker leaves with work to the reconciler at once (score 0: older than any stale
   * threshold) rather than after its lock expires. False when the lane is empty.
   */
  async handBack(conv: string): Promise<boolean> {
    const k = this.keys;
    if (!(await this.redis.lindex(k.lane(conv), 0))) return false;
    await this.redis.zadd(k.lanes(k.partition(conv)), 0, conv);
    return true;
  }
}
