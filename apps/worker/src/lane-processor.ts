/**
 * Sends one conversation's lane: its messages strictly one at a time, in acceptance order, under the
 * conversation lock. db_proxy_server reorders anything sent concurrently (notes §6, §10), so one request in
 * flight per conversation is what keeps order; many lanes run at once, which keeps the pipe full.
 *
 * No loss, no duplicate: a message is marked `sending` (with its create_time and the conversation's last
 * known msg_id, the floor) before its request leaves. Whoever finds a message in `sending` (after a crash,
 * or a connection lost mid-flight) reads the conversation back before sending again.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import {
  DEFAULT_RECORD_TTL_MS,
  FAILURE_CODES,
  Keys,
  parseRecord,
  type FailureCode,
  type MessageRecord,
  type ScriptedRedis,
} from '@ttpush/core';
import type { TeamTalk, StoredMessage } from './teamtalk.ts';
import { im } from '@ttpush/pdu';
import { classify } from './outcome.ts';
import type { WorkerStats } from './stats.ts';
import type { WebhookEmitter } from './webhooks/emitter.ts';

export interface LaneOptions {
  lockMs: number;
  maxMessageAgeMs: number;
  /** Wait before reading back a request lost with its connection: lets a slow db_proxy finish it. */
  uncertainGraceMs: number;
  /** TTPUSH_RECORD_TTL: a terminal record is kept this long (default DEFAULT_RECORD_TTL_MS). */
  recordTtlMs?: number;
}

interface ConvState {
  lastMsgId: number;
  lastCreateTime: number;
  lastHash: string;
}

const PEEK = 64;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const textHash = (text: string) => createHash('sha1').update(text).digest('base64').slice(0, 12);

export type LaneResult = 'drained' | 'busy' | 'lost' | 'stopped';

export class LaneProcessor {
  stopping = false;
  /** Webhooks: told of every terminal state (set by the worker). */
  events: WebhookEmitter | undefined;

  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: Keys,
    private readonly tt: TeamTalk,
    private readonly stats: WorkerStats,
    private readonly log: Logger,
    private readonly opts: LaneOptions,
  ) {}

  async process(conv: string): Promise<LaneResult> {
    const k = this.keys;
    const token = randomBytes(12).toString('base64');
    const p = k.partition(conv);
    const claim = () =>
      this.redis.ttClaim(
        k.lock(conv),
        k.lane(conv),
        k.lanes(p),
        k.conv(conv),
        token,
        this.opts.lockMs,
        PEEK,
        k.messagePrefix(p),
        conv,
      );
    let batch = await claim();
    if (batch === null) return 'busy';
    const extender = setInterval(
      () => {
        this.redis.ttExtend(k.lock(conv), token, this.opts.lockMs).catch(() => undefined);
      },
      Math.max(200, Math.floor(this.opts.lockMs / 3)),
    );
    try {
      if (batch[0] === 0) return 'drained';
      const state: ConvState = {
        lastMsgId: Number(batch[1]),
        lastCreateTime: Number(batch[2]),
        lastHash: String(batch[3]),
      };
      for (;;) {
        if (batch === null) return 'lost';
        if (batch[0] === 0) return 'drained';
        for (let i = 4; i < batch.length; i += 2) {
          const id = batch[i] as string;
          const fields = batch[i + 1] as string[];
          const h: Record<string, string> = {};
          for (let f = 0; f < fields.length; f += 2) h[fields[f]!] = fields[f + 1]!;
          const r = this.stopping ? 'stopped' : await this.sendOne(id, parseRecord(id, h), conv, token, state);
          if (r === 'lost' || r === 'drained') return r;
          if (r === 'stopped') {
            await this.redis.ttRelease(k.lock(conv), token);
            return r;
          }
        }
        batch = await claim();
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
  ): Promise<'done' | 'drained' | 'lost' | 'stopped'> {
    const k = this.keys;
    if (!rec || (rec.status !== 'queued' && rec.status !== 'sending')) {
      await this.redis.ttDropHead(k.lane(conv), id);
      return 'done';
    }
    // A child logger per message only when its debug lines will be written: this is the hot path.
    const log = this.log.isLevelEnabled('debug') ? this.log.child({ message: id, conv }) : this.log;
    const msgData = this.tt.ciphertext(rec.text);
    const hash = textHash(rec.text);
    const deadline = (rec.sendAt ?? rec.createdAt) + this.opts.maxMessageAgeMs;
    let uncertain = rec.status === 'sending';
    let createTime = rec.createTime ?? 0;
    let floor = rec.floor ?? 0;
    let backoff = 100;
    const wait = async () => {
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 5000);
    };

    for (;;) {
      if (uncertain) {
        log.debug({ createTime, floor }, 'reading back a message that may be stored');
        let found: number;
        try {
          found = await this.tt.readBack(rec.from, rec.to, createTime, floor, msgData);
        } catch (err) {
          if (this.stopping) return 'stopped';
          if (Date.now() > deadline) return this.fail(rec, conv, token, 'teamtalk_unavailable', log);
          log.debug({ err: (err as Error).message }, 'read-back failed; retrying');
          await wait();
          continue;
        }
        if (found > 0) {
          return this.succeed(rec, conv, token, this.readBackFound(rec, found, createTime, msgData), hash, state, log);
        }
        uncertain = false;
      }
      if (this.stopping) return 'stopped';
      // The caller's "drop if not sent by": checked only here, before a new attempt, where nothing of ours can be
      // stored (a message that may be stored was read back above first).
      if (rec.deadline !== null && Date.now() > rec.deadline) return this.fail(rec, conv, token, 'expired', log);
      if (Date.now() > deadline) return this.fail(rec, conv, token, 'teamtalk_unavailable', log);

      // A new attempt. Two of our texts alike in one second of one conversation would be indistinguishable on
      // read-back, so the later one takes the next second.
      createTime = Math.floor(Date.now() / 1000);
      if (createTime <= state.lastCreateTime && hash === state.lastHash) createTime = state.lastCreateTime + 1;
      floor = state.lastMsgId;
      const mark = await this.redis.ttMarkSending(k.message(id), k.lock(conv), token, Date.now(), createTime, floor);
      if (mark === 'lost') return 'lost';
      if (mark !== 'ok') {
        await this.redis.ttDropHead(k.lane(conv), id);
        return 'done';
      }
      log.debug({ createTime, floor }, 'sending');
      let reply: StoredMessage;
      try {
        reply = await this.tt.store(rec.from, rec.to, createTime, msgData);
      } catch (err) {
        const kind = classify(err);
        log.debug({ kind, err: (err as Error).message }, 'db_proxy request failed');
        if (kind === 'no_reply') {
          // db_proxy drops some requests silently (unknown group, non-member...): read back once, then fail.
          for (let tries = 0; ; tries++) {
            try {
              const found = await this.tt.readBack(rec.from, rec.to, createTime, floor, msgData);
              if (found > 0) {
                return this.succeed(
                  rec,
                  conv,
                  token,
                  this.readBackFound(rec, found, createTime, msgData),
                  hash,
                  state,
                  log,
                );
              }
              return this.fail(rec, conv, token, 'teamtalk_no_reply', log);
            } catch {
              if (this.stopping) return 'stopped';
              if (tries >= 3 && Date.now() > deadline) return this.fail(rec, conv, token, 'teamtalk_no_reply', log);
              await wait();
            }
          }
        }
        if (kind === 'uncertain') {
          uncertain = true;
          await sleep(this.opts.uncertainGraceMs);
        } else {
          await wait();
        }
        continue;
      }
      if (reply.msgId === 0) return this.fail(rec, conv, token, 'teamtalk_rejected', log);
      return this.succeed(rec, conv, token, reply, hash, state, log);
    }
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

  private async succeed(
    rec: MessageRecord,
    conv: string,
    token: string,
    stored: StoredMessage,
    hash: string,
    state: ConvState,
    log: Logger,
  ): Promise<'done' | 'drained'> {
    if (!this.tt.forward(stored)) {
      this.stats.routeUnavailable++;
      log.warn(
        { message: rec.id, conv, msgId: stored.msgId },
        'stored, but no route_server to push it: recipients get it on their next sync',
      );
    }
    // Webhook events first: a crash before the completion re-sends them under the same id (at least once).
    await this.events?.message(rec, { status: 'sent', at: Date.now(), msgId: stored.msgId });
    const k = this.keys;
    const p = k.partition(conv);
    const left = await this.redis.ttComplete(
      k.message(rec.id), k.lane(conv), k.conv(conv), k.depth(p), k.lock(conv), k.lanes(p),
      rec.id, 'sent', Date.now(), stored.msgId, '', '', stored.createTime, hash, token, conv, k.doneChannel,
      this.opts.recordTtlMs ?? DEFAULT_RECORD_TTL_MS,
    ); // prettier-ignore
    if (stored.msgId > state.lastMsgId) {
      state.lastMsgId = stored.msgId;
      state.lastCreateTime = stored.createTime;
      state.lastHash = hash;
    }
    this.stats.sent(Date.now() - (rec.sendAt ?? rec.createdAt));
    log.debug({ msgId: stored.msgId }, 'sent');
    return left === 0 ? 'drained' : 'done';
  }

  private async fail(
    rec: MessageRecord,
    conv: string,
    token: string,
    code: FailureCode,
    log: Logger,
  ): Promise<'done' | 'drained'> {
    await this.events?.message(rec, { status: 'failed', at: Date.now(), code, message: FAILURE_CODES[code] });
    const k = this.keys;
    const p = k.partition(conv);
    const left = await this.redis.ttComplete(
      k.message(rec.id), k.lane(conv), k.conv(conv), k.depth(p), k.lock(conv), k.lanes(p),
      rec.id, 'failed', Date.now(), 0, code, FAILURE_CODES[code], 0, '', token, conv, k.doneChannel,
      this.opts.recordTtlMs ?? DEFAULT_RECORD_TTL_MS,
    ); // prettier-ignore
    this.stats.failed(code, rec.id);
    log.debug({ code }, 'failed');
    return left === 0 ? 'drained' : 'done';
  }
}
