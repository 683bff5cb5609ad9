/**
 * Sends one conversation's lane: its messages strictly one at a time, in acceptance order, under the
 * conversation lock. db_proxy_server reorders anything sent concurrently (notes §6, §10), so one request in
 * flight per conversation is what keeps order; many lanes run at once, which keeps the pipe full.
 *
 * No loss, no duplicate: a message is marked `sending` (with its create_time and the conversation's last
 * known msg_id, the floor) before its request leaves. Whoever finds a message in `sending` (after a crash,
 * or a connection lost mid-flight) reads the conversation back before sending again.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import {
  textHash,
  type ClaimMark,
  type ConvState,
  type LaneClaim,
  type LaneStore,
  type MarkedSend,
  type MessageRecord,
} from '@ttpush/store';
import { FAILURE_CODES, type FailureCode } from '@ttpush/contract';
import type { TeamTalk, StoredMessage } from './teamtalk.ts';
import { ConnectionError, im } from '@ttpush/pdu';
import { classify } from './outcome.ts';
import type { WorkerStats } from './stats.ts';
import type { DbProxyHealth } from './db-proxy-health.ts';
import type { WebhookEmitter } from './webhooks/emitter.ts';

export interface LaneOptions {
  lockMs: number;
  maxMessageAgeMs: number;
  /** db_proxy's reply timeout (TTPUSH_TEAMTALK_REPLY_TIMEOUT_MS): a request found in flight left this long ago. */
  replyTimeoutMs: number;
  /**
   * After a store without reply (or lost with its connection): how long db_proxy must answer again before a message
   * read back absent is sent again (TTPUSH_TEAMTALK_SETTLE_MS).
   */
  settleMs: number;
}

/** A store whose outcome is unknown: no reply, or its connection died. */
interface Silence {
  /** The db_proxy_server that had it (`host:port`); undefined when unknown (found in `sending` after a restart). */
  address: string | undefined;
  /** When the silence was found (the reply deadline passed, the connection died). */
  at: number;
  /** db_proxy answered other requests meanwhile: a silence of a live server, not an outage. */
  alive: boolean;
}

const PEEK = 64;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type LaneResult = 'drained' | 'busy' | 'lost' | 'stopped';

export class LaneProcessor {
  stopping = false;
  /** Webhooks: told of every terminal state (set by the worker). */
  events: WebhookEmitter | undefined;
  /** Told of deliberate silences, so they do not count towards a degraded db_proxy (set by the worker). */
  health: DbProxyHealth | undefined;

  constructor(
    private readonly store: LaneStore,
    private readonly tt: TeamTalk,
    private readonly stats: WorkerStats,
    private readonly log: Logger,
    private readonly opts: LaneOptions,
  ) {}

  /** How lane-take claims a lane for process(): the same lock, peek and mark as process's own claim. */
  claimOptions(): { lockMs: number; peek: number; mark?: ClaimMark } {
    return {
      lockMs: this.opts.lockMs,
      peek: PEEK,
      ...(!this.stopping && { mark: { now: Date.now(), maxMessageAgeMs: this.opts.maxMessageAgeMs } }),
    };
  }

  /**
   * Sends a conversation's lane. `first`: the lane already claimed for this worker with `token` (lane-take claims the
   * conversations it takes, claimOptions), so the first claim costs no call of its own.
   */
  async process(conv: string, first?: { token: string; claim: LaneClaim }): Promise<LaneResult> {
    const token = first?.token ?? randomBytes(12).toString('base64');
    // The claim marks the first message `sending` itself when a new attempt of it is due, and each completion the
    // next one (not once stopping): one round trip fewer per message. A stopping worker sends a message so marked all
    // the same, as one it marked itself; left unsent, the next claimer would read it back before sending it.
    const claim = () =>
      this.store.claim({
        conv,
        token,
        lockMs: this.opts.lockMs,
        peek: PEEK,
        mark: this.stopping ? undefined : { now: Date.now(), maxMessageAgeMs: this.opts.maxMessageAgeMs },
      });
    let claimed = first?.claim ?? (await claim());
    if (claimed.status === 'busy') return 'busy';
    const extender = setInterval(
      () => {
        this.store.extend({ conv, token, lockMs: this.opts.lockMs }).catch(() => undefined);
      },
      Math.max(200, Math.floor(this.opts.lockMs / 3)),
    );
    try {
      if (claimed.status === 'drained') return 'drained';
      // Read once: under the lock, this worker is the one that advances it (succeed).
      const state: ConvState = claimed.state;
      for (;;) {
        if (claimed.status === 'busy') return 'lost';
        if (claimed.status === 'drained') return 'drained';
        const heads = claimed.heads;
        let marked = claimed.marked;
        for (let i = 0; i < heads.length; i++) {
          const { id, record } = heads[i]!;
          const next = heads[i + 1]?.id;
          const r =
            this.stopping && !marked ? 'stopped' : await this.sendOne(id, record, conv, token, state, marked, next);
          // Completed, and the completion marked `next` sending: it goes at once.
          marked = typeof r === 'object' ? r : null;
          if (r === 'lost' || r === 'drained') return r;
          if (r === 'stopped') {
            await this.store.release({ conv, token });
            return r;
          }
        }
        claimed = await claim();
      }
    } finally {
      clearInterval(extender);
    }
  }

  private async sendOne(
    id: string,
    rec: MessageRecord | null,
    conv: string,
    token: string,
    state: ConvState,
    /** Marked `sending` already by the store (the claim, or the completion before): sent at once with these. */
    marked: MarkedSend | null,
    /** The message sent after this one, which its completion may mark `sending` (the MarkedSend returned). */
    next: string | undefined,
  ): Promise<'done' | 'drained' | 'lost' | 'stopped' | MarkedSend> {
    if (!rec || (rec.status !== 'queued' && rec.status !== 'sending')) {
      await this.store.dropHead({ conv, id });
      return 'done';
    }
    // A child logger per message only when its debug lines will be written: this is the hot path.
    const log = this.log.isLevelEnabled('debug') ? this.log.child({ message: id, conv }) : this.log;
    const msgData = this.tt.ciphertext(rec.text);
    const hash = textHash(rec.text);
    const deadline = (rec.sendAt ?? rec.createdAt) + this.opts.maxMessageAgeMs;
    let createTime = rec.createTime ?? 0;
    let floor = rec.floor ?? 0;
    // A message found in `sending` (a worker killed or stopped with it in flight) may be stored, or stored late:
    // its request left at `ua` at the latest.
    let silence: Silence | null =
      rec.status === 'sending'
        ? { address: undefined, at: rec.updatedAt + this.opts.replyTimeoutMs, alive: false }
        : null;
    let backoff = 100;
    const wait = async () => {
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 5000);
    };

    for (;;) {
      if (silence) {
        const r = await this.resolveSilence(rec, silence, createTime, floor, msgData, deadline, log);
        if (r === 'stopped') return 'stopped';
        if (typeof r === 'number') {
          return this.succeed(
            rec,
            conv,
            token,
            next,
            this.readBackFound(rec, r, createTime, msgData),
            hash,
            state,
            log,
          );
        }
        if (r !== 'absent') return this.fail(rec, conv, token, next, r, log);
        silence = null;
      }
      if (marked) {
        // The store checked and marked it as below (includes/mark-first-send.lua), with the same state.
        ({ createTime, floor } = marked);
        marked = null;
      } else {
        if (this.stopping) return 'stopped';
        // The caller's "drop if not sent by": checked only here, before a new attempt, where nothing of ours can be
        // stored (a message that may be stored was read back above first).
        if (rec.deadline !== null && Date.now() > rec.deadline)
          return this.fail(rec, conv, token, next, 'expired', log);
        if (Date.now() > deadline) return this.fail(rec, conv, token, next, 'teamtalk_unavailable', log);

        // A new attempt. Two of our texts alike in one second of one conversation would be indistinguishable on
        // read-back, so the later one takes the next second. (The claim script applies the same rule.)
        createTime = Math.floor(Date.now() / 1000);
        if (createTime <= state.lastCreateTime && hash === state.lastHash) createTime = state.lastCreateTime + 1;
        floor = state.lastMsgId;
        const mark = await this.store.markSending({ id, conv, token, now: Date.now(), createTime, floor });
        if (mark.status === 'lost') return 'lost';
        if (mark.status !== 'marked') {
          await this.store.dropHead({ conv, id });
          return 'done';
        }
      }
      log.debug({ createTime, floor }, 'sending');
      let reply: StoredMessage;
      try {
        reply = await this.tt.store(rec.from, rec.to, createTime, msgData);
      } catch (err) {
        const kind = classify(err);
        log.debug({ kind, err }, 'db_proxy request failed');
        if (kind === 'not_sent') {
          await wait();
          continue;
        }
        const address = err instanceof ConnectionError ? err.address : undefined;
        if (kind === 'no_reply' && 'group' in rec.to) {
          // db_proxy drops a group send to an unknown group or from a non-member without a reply (notes §6): a
          // refusal, told apart from an outage or a parked thread by asking it about the group.
          const refusal = await this.groupRefusal(rec.from, rec.to.group, log);
          if (refusal === 'stopped') return 'stopped';
          if (refusal !== null) {
            // Counted as a silence of a live server only when it was one (see DbProxyHealth).
            if (address !== undefined && err instanceof ConnectionError && err.answeredMeanwhile) {
              this.health?.explained(address);
            }
            return this.fail(rec, conv, token, next, refusal, log);
          }
        }
        silence = {
          address,
          at: Date.now(),
          alive: err instanceof ConnectionError && err.answeredMeanwhile,
        };
      }
      if (silence) continue;
      if (reply!.msgId === 0) return this.fail(rec, conv, token, next, 'teamtalk_rejected', log);
      return this.succeed(rec, conv, token, next, reply!, hash, state, log);
    }
  }

  /**
   * A store that got no reply, or whose connection died: it may be stored, now or later. Read back; when absent,
   * wait until db_proxy has settled (the server that had the request answers again, `settleMs` after the silence)
   * and read back a second time. The msg_id when found; 'absent' when it is safe to send again; a failure code when
   * the message's age ran out first.
   *
   * Why a second read after settling: db_proxy runs each request on a thread of its pool; a thread parked for ever
   * never stores what it holds, but a slow thread (a stalled database, a server that stopped answering for a while)
   * stores late, after our deadline and even after its connection was cut. A store landing after the first read
   * would be doubled by a resend; one still pending once the server answers requests sent after `settleMs` is not
   * expected (a stalled server answers nothing until it has caught up with what it held).
   */
  private async resolveSilence(
    rec: MessageRecord,
    silence: Silence,
    createTime: number,
    floor: number,
    msgData: Buffer,
    deadline: number,
    log: Logger,
  ): Promise<number | 'absent' | 'stopped' | FailureCode> {
    const expired = (): FailureCode => (silence.alive ? 'teamtalk_no_reply' : 'teamtalk_unavailable');
    const first = await this.readBackRetrying(rec, createTime, floor, msgData, deadline, log);
    if (first === 'stopped' || first === 'expired') return first === 'expired' ? expired() : first;
    if (first > 0) return first;
    // Not stored yet: the server may still store it late. Wait for it to settle.
    const settleFrom = silence.at + this.opts.settleMs;
    let backoff = 100;
    for (;;) {
      if (this.stopping) return 'stopped';
      const left = settleFrom - Date.now();
      if (left > 0) {
        await sleep(Math.min(left, 500));
        continue;
      }
      try {
        await this.tt.probe(silence.address, rec.from, rec.to);
        break;
      } catch (err) {
        // A server unreachable for the whole settle time has nothing left to store: what it held died with it.
        if (silence.address !== undefined && this.tt.db.unreachableForMs(silence.address) >= this.opts.settleMs) break;
        if (Date.now() > deadline) return expired();
        log.debug({ err, dbProxy: silence.address }, 'db_proxy not settled yet');
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 2000);
      }
    }
    const second = await this.readBackRetrying(rec, createTime, floor, msgData, deadline, log);
    if (second === 'stopped' || second === 'expired') return second === 'expired' ? expired() : second;
    if (second > 0) return second;
    this.stats.resent++;
    log.debug({ dbProxy: silence.address }, 'not stored after db_proxy settled: sending again');
    return 'absent';
  }

  /** Reads the conversation back until it answers: the msg_id found, or 0. */
  private async readBackRetrying(
    rec: MessageRecord,
    createTime: number,
    floor: number,
    msgData: Buffer,
    deadline: number,
    log: Logger,
  ): Promise<number | 'stopped' | 'expired'> {
    let backoff = 100;
    for (;;) {
      try {
        return await this.tt.readBack(rec.from, rec.to, createTime, floor, msgData);
      } catch (err) {
        if (this.stopping) return 'stopped';
        if (Date.now() > deadline) return 'expired';
        log.debug({ err }, 'read-back failed; retrying');
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  /** Asks db_proxy about the group (a few tries): the refusal, null (none, or no answer), or 'stopped'. */
  private async groupRefusal(
    from: number,
    group: number,
    log: Logger,
  ): Promise<'group_not_found' | 'not_a_member' | null | 'stopped'> {
    for (let tries = 0; tries < 3; tries++) {
      if (this.stopping) return 'stopped';
      try {
        return await this.tt.groupRefusal(from, group);
      } catch (err) {
        log.debug({ err }, 'group query failed');
      }
    }
    // Unanswered too: treated as an outage; the next silence of a resend asks again.
    return null;
  }

  /** A message read back as stored: the stored copy, to forward and record. */
  private readBackFound(rec: MessageRecord, msgId: number, createTime: number, msgData: Buffer): StoredMessage {
    this.stats.readBackFound++;
    const group = 'group' in rec.to;
    return {
      fromUserId: rec.from,
      toSessionId: 'group' in rec.to ? rec.to.group : rec.to.user,
      msgId,
      createTime,
      msgType: group ? im.MsgType.MSG_TYPE_GROUP_TEXT : im.MsgType.MSG_TYPE_SINGLE_TEXT,
      msgData,
    };
  }

  /** Asks a completion to mark the next message `sending` (not once stopping: it would be left marked, unsent). */
  private markNext(next: string | undefined): { id: string; maxMessageAgeMs: number } | undefined {
    return next === undefined || this.stopping ? undefined : { id: next, maxMessageAgeMs: this.opts.maxMessageAgeMs };
  }

  private async succeed(
    rec: MessageRecord,
    conv: string,
    token: string,
    next: string | undefined,
    stored: StoredMessage,
    hash: string,
    state: ConvState,
    log: Logger,
  ): Promise<'done' | 'drained' | MarkedSend> {
    if (!this.tt.forward(stored)) {
      this.stats.routeUnavailable++;
      log.warn(
        { message: rec.id, conv, msgId: stored.msgId },
        'stored, but no route_server to push it: recipients get it on their next sync',
      );
    }
    // Webhook events first: a crash before the completion re-sends them under the same id (at least once).
    await this.events?.message(rec, { status: 'sent', at: Date.now(), msgId: stored.msgId });
    const done = await this.store.complete({
      id: rec.id,
      conv,
      token,
      outcome: { status: 'sent', msgId: stored.msgId, createTime: stored.createTime, textHash: hash },
      next: this.markNext(next),
    });
    if (stored.msgId > state.lastMsgId) {
      state.lastMsgId = stored.msgId;
      state.lastCreateTime = stored.createTime;
      state.lastHash = hash;
    }
    this.stats.sent(Date.now() - (rec.sendAt ?? rec.createdAt));
    log.debug({ msgId: stored.msgId }, 'sent');
    return done.left === 0 ? 'drained' : (done.marked ?? 'done');
  }

  private async fail(
    rec: MessageRecord,
    conv: string,
    token: string,
    next: string | undefined,
    code: FailureCode,
    log: Logger,
  ): Promise<'done' | 'drained' | MarkedSend> {
    await this.events?.message(rec, { status: 'failed', at: Date.now(), code, message: FAILURE_CODES[code] });
    const done = await this.store.complete({
      id: rec.id,
      conv,
      token,
      outcome: { status: 'failed', code, message: FAILURE_CODES[code] },
      next: this.markNext(next),
    });
    this.stats.failed(code, rec.id);
    log.debug({ code }, 'failed');
    return done.left === 0 ? 'drained' : (done.marked ?? 'done');
  }
}
