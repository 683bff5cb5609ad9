/**
 * Sends a chunk's messages to db_proxy_server pipelined (up to `window` requests in flight), forwards each
 * stored reply to route_server, and reads back messages whose fate is unknown. Outcomes land in the
 * chunk's ChunkResults; what needs another round is handed back as lists of recipient indices.
 *
 * Hot path, no Redis at all; the stop check is a synchronous look at cached state, made before each group of
 * at most `checkEvery` requests. Without a global cap or an app rate_limit to pace it message by message, a
 * round goes through ChunkWindow (templates written into one buffer per group, no promise per message);
 * otherwise through store(), one request at a time.
 */
import { ConnectionError, im } from '@ttpush/pdu';
import type { ChunkResults } from '@ttpush/store';
import type { Recipient } from '@ttpush/contract';
import type { StoredMessage, TeamTalk } from './teamtalk.ts';
import { classify, type RequestFailure } from './outcome.ts';
import { readBackSince } from './chunk-read-back.ts';
import { ChunkWindow, chunkWire } from './chunk-window.ts';
import type { WorkerStats } from './stats.ts';
import type { RateThrottles } from './rate-throttles.ts';

/** What one chunk sends: every array is indexed like the chunk's recipients. */
export interface ChunkTarget {
  from: number;
  to: Recipient[];
  msgData: Buffer[];
  /** TeamTalk create_time (s), fixed for the chunk across attempts: read-back matches on it. */
  createTime: number;
  results: ChunkResults;
  /** Unix ms the messages became due (accepted, or send_at): the latency metric's start. */
  dueAt: number;
  /** The app that sent the batch: its rate_limit paces the chunk. */
  app?: string | undefined;
}

export interface SendRound {
  /** Never issued: the stop check said stop before their turn. */
  unissued: number[];
  /** The connection died with the request in flight: it may be stored. */
  uncertain: number[];
  /** Written, and no reply came within the timeout (db_proxy drops some requests silently: notes §6). */
  noReply: number[];
  /** Refused before leaving (no ready connection, a full window): certainly not stored. */
  notSent: number[];
  /** Stored, but no route_server master to forward them to. */
  unrouted: number;
  /** The servers (`host:port`) that left requests unanswered or lost them with a connection. */
  addresses: Set<string>;
  /** Some server answered other requests while it left one of these unanswered. */
  alive: boolean;
}

/** A round before anything was sent. */
export function newSendRound(): SendRound {
  return { unissued: [], uncertain: [], noReply: [], notSent: [], unrouted: 0, addresses: new Set(), alive: false };
}

export interface ReadBackRound {
  /** Not stored. */
  missing: number[];
  /** db_proxy could not be asked: still unknown. */
  unknown: number[];
}

function failureOf(err: unknown): RequestFailure {
  // A full pool window refuses the request before it leaves, like a full connection window.
  if (err instanceof ConnectionError && err.code === 'POOL_BUSY') return 'not_sent';
  return classify(err);
}

export class ChunkSender {
  constructor(
    private readonly tt: TeamTalk,
    private readonly stats: WorkerStats,
    private readonly window: number,
    private readonly checkEvery: number,
    private readonly throttles?: RateThrottles,
  ) {}

  /**
   * Requests of one chunk issued at once. Under the global caps, requests wait in TeamTalk for a place of the
   * in-flight gate or a rate token: a smaller window keeps that wait short, so cancel, pause and alerts queued
   * behind a batch are not held up by seconds of issued requests.
   */
  private windowNow(): number {
    let w = this.window;
    const gate = this.tt.gate;
    if (gate !== undefined) w = Math.min(w, Math.max(8, 2 * gate.size));
    const rate = this.tt.rate;
    if (rate !== undefined) w = Math.min(w, Math.max(8, Math.floor(rate.rate / 20)));
    return w;
  }

  /** Sends `indices` of the chunk; stops issuing when `stop()` says so (checked every checkEvery messages). */
  async send(t: ChunkTarget, indices: readonly number[], stop: () => boolean): Promise<SendRound> {
    const round = newSendRound();
    // The app's rate_limit: a token before each message is issued (answered locally while a block lasts).
    // TTPUSH_TEAMTALK_MAX_RATE is taken by TeamTalk.store itself, right before the wire.
    const app = await this.throttles?.app(t.app);
    if (app === undefined && this.tt.batchable) await this.sendWindows(t, indices, stop, round);
    else await this.sendEach(t, indices, stop, round, app);
    return round;
  }

  /** Groups of requests written at once, as the window has room, until every index is issued or stop() says so. */
  private async sendWindows(
    t: ChunkTarget,
    indices: readonly number[],
    stop: () => boolean,
    round: SendRound,
  ): Promise<void> {
    const w = new ChunkWindow(this.tt, this.stats, t, chunkWire(t), round);
    const window = this.windowNow();
    let j = 0;
    while (j < indices.length) {
      if (w.inFlight >= window) await w.below((window * 3) >> 2);
      if (stop()) break;
      const n = Math.min(window - w.inFlight, this.checkEvery, indices.length - j);
      const issued = this.tt.storeBatch(w, indices, j, j + n);
      w.inFlight += issued;
      // Refused before leaving (no ready connection, every window full): certainly not stored.
      for (let k = j + issued; k < j + n; k++) round.notSent.push(indices[k]!);
      j += n;
    }
    for (; j < indices.length; j++) round.unissued.push(indices[j]!);
    await w.below(0);
    w.flushForwards();
  }

  /** One store() per message: paced by the in-flight gate, the global rate or the app's rate_limit. */
  private async sendEach(
    t: ChunkTarget,
    indices: readonly number[],
    stop: () => boolean,
    round: SendRound,
    app: Awaited<ReturnType<RateThrottles['app']>>,
  ): Promise<void> {
    const flow = new InFlight();
    const window = this.windowNow();
    let j = 0;
    for (; j < indices.length; j++) {
      if (j % this.checkEvery === 0 && stop()) break;
      if (flow.count >= window) await flow.below((window * 3) >> 2);
      const appWait = app?.take();
      if (appWait !== undefined) {
        await appWait;
        // A paced chunk may wait long between messages: look at cancel and pause after each wait.
        if (stop()) break;
      }
      const i = indices[j]!;
      flow.count++;
      this.tt.store(t.from, t.to[i]!, t.createTime, t.msgData[i]!).then(
        (reply) => {
          this.stored(t, i, reply, round);
          flow.done();
        },
        (err: unknown) => {
          const kind = failureOf(err);
          if (kind !== 'not_sent' && err instanceof ConnectionError) {
            if (err.address !== undefined) round.addresses.add(err.address);
            if (err.answeredMeanwhile) round.alive = true;
          }
          if (kind === 'no_reply') round.noReply.push(i);
          else if (kind === 'uncertain') round.uncertain.push(i);
          else round.notSent.push(i);
          flow.done();
        },
      );
    }
    for (; j < indices.length; j++) round.unissued.push(indices[j]!);
    await flow.below(0);
  }

  /** Looks for each of `indices` in its conversation; found ones are recorded sent (and forwarded). */
  async readBack(t: ChunkTarget, indices: readonly number[]): Promise<ReadBackRound> {
    const round: ReadBackRound = { missing: [], unknown: [] };
    const flow = new InFlight();
    const window = this.windowNow();
    for (const i of indices) {
      if (flow.count >= window) await flow.below((window * 3) >> 2);
      flow.count++;
      readBackSince(this.tt, t.from, t.to[i]!, t.createTime, t.msgData[i]!).then(
        (msgId) => {
          if (msgId > 0) {
            this.stats.readBackFound++;
            const to = t.to[i]!;
            this.stored(
              t,
              i,
              {
                fromUserId: t.from,
                toSessionId: 'group' in to ? to.group : to.user,
                msgId,
                createTime: t.createTime,
                msgType: 'group' in to ? im.MsgType.MSG_TYPE_GROUP_TEXT : im.MsgType.MSG_TYPE_SINGLE_TEXT,
                msgData: t.msgData[i]!,
              },
              null,
            );
          } else {
            round.missing.push(i);
          }
          flow.done();
        },
        () => {
          round.unknown.push(i);
          flow.done();
        },
      );
    }
    await flow.below(0);
    return round;
  }

  private stored(t: ChunkTarget, i: number, reply: StoredMessage, round: SendRound | null): void {
    if (reply.msgId === 0) {
      // db_proxy could not allocate an id: a refusal, not a message (notes §6). Never forwarded.
      t.results.failed(i, 'teamtalk_rejected');
      this.stats.failed('teamtalk_rejected');
      return;
    }
    t.results.sent(i, reply.msgId);
    this.stats.sent(Date.now() - t.dueAt);
    if (!this.tt.forward(reply)) {
      if (round) round.unrouted++;
      else this.stats.routeUnavailable++;
    }
  }
}

/** Counts requests in flight and wakes one waiter when the count falls to its mark. */
class InFlight {
  count = 0;
  private mark = 0;
  private wake: (() => void) | undefined;

  done(): void {
    this.count--;
    if (this.wake !== undefined && this.count <= this.mark) {
      const w = this.wake;
      this.wake = undefined;
      w();
    }
  }

  below(mark: number): Promise<void> | void {
    if (this.count <= mark) return;
    return new Promise((resolve) => {
      this.mark = mark;
      this.wake = resolve;
    });
  }
}
