/**
 * One send round of a chunk on the batched wire path: its IMMsgData are written from templates (one per distinct
 * text and recipient kind; only to_session_id differs per message) straight into one buffer per group of requests,
 * and their replies are read from the received bytes. The round is the requests' RequestBatch: each recipient's
 * outcome lands here by its index (the tag), with no promise or closure per message. Stored messages are forwarded
 * to route_server in one buffer per burst of replies, from the same templates with db_proxy's msg_id.
 *
 * Outcomes are those of ChunkSender's per-message path: a reply with msg_id 0 is a refusal (never forwarded);
 * failures are sorted into the round's lists by classify(). A reply that is not the message as sent (another
 * field, value or order) is decoded in full and handled as the per-message path handles any reply.
 */
import {
  CommandId,
  ConnectionError,
  MsgDataTemplate,
  decodeBody,
  im,
  type BodyWriter,
  type RequestBatch,
} from '@ttpush/pdu';
import type { StoredMessage, TeamTalk } from './teamtalk.ts';
import type { ChunkTarget, SendRound } from './chunk-sender.ts';
import { classify } from './outcome.ts';
import type { WorkerStats } from './stats.ts';

/** The chunk's messages as templates, indexed like its recipients. */
export interface ChunkWire {
  /** to_session_id: a user or group id. */
  ids: Uint32Array;
  templates: MsgDataTemplate[];
}

/** One template per distinct ciphertext and recipient kind (a batch has one text: usually two templates at most). */
export function chunkWire(t: ChunkTarget): ChunkWire {
  const n = t.to.length;
  const ids = new Uint32Array(n);
  const templates = new Array<MsgDataTemplate>(n);
  const single = new Map<Buffer, MsgDataTemplate>();
  const group = new Map<Buffer, MsgDataTemplate>();
  for (let i = 0; i < n; i++) {
    const to = t.to[i]!;
    const isGroup = 'group' in to;
    ids[i] = isGroup ? to.group : to.user;
    const msgData = t.msgData[i]!;
    const cache = isGroup ? group : single;
    let tpl = cache.get(msgData);
    if (tpl === undefined) {
      tpl = new MsgDataTemplate({
        fromUserId: t.from,
        createTime: t.createTime,
        msgType: isGroup ? im.MsgType.MSG_TYPE_GROUP_TEXT : im.MsgType.MSG_TYPE_SINGLE_TEXT,
        msgData,
      });
      cache.set(msgData, tpl);
    }
    templates[i] = tpl;
  }
  return { ids, templates };
}

/** The forwards of stored messages: the same template, db_proxy's msg_id, no attach_data (notes §8). */
class Forwards implements BodyWriter {
  constructor(
    private readonly wire: ChunkWire,
    private readonly msgIds: Uint32Array,
  ) {}

  bodyLength(i: number): number {
    return this.wire.templates[i]!.bodyLength(this.wire.ids[i]!, this.msgIds[i]!);
  }

  writeBody(i: number, out: Buffer, offset: number): void {
    this.wire.templates[i]!.write(out, offset, this.wire.ids[i]!, this.msgIds[i]!);
  }
}

export class ChunkWindow implements RequestBatch {
  readonly commandId = CommandId.MSG_DATA;
  readonly responseCommand = CommandId.MSG_DATA;
  /** Requests issued and not yet settled. */
  inFlight = 0;
  private mark = 0;
  private wake: (() => void) | undefined;
  /** What read() kept for the reply replied() handles next: its msg_id, or the whole reply when decoded. */
  private replyMsgId = 0;
  private decoded: StoredMessage | undefined;
  private readonly msgIds: Uint32Array;
  private readonly forwards: Forwards;
  /** Stored and not yet forwarded (the first `forwardCount`): written in one buffer once the replies at hand are handled. */
  private readonly toForward: Int32Array;
  private forwardCount = 0;
  /** A double from the start (a time in ms): a field that changes representation deoptimizes its users. */
  private burstAt = Date.now();
  private readonly flushBound = () => this.flushForwards();

  constructor(
    private readonly tt: TeamTalk,
    private readonly stats: WorkerStats,
    private readonly t: ChunkTarget,
    private readonly wire: ChunkWire,
    private readonly round: SendRound,
  ) {
    this.msgIds = new Uint32Array(t.to.length);
    this.toForward = new Int32Array(t.to.length);
    this.forwards = new Forwards(wire, this.msgIds);
  }

  bodyLength(i: number): number {
    return this.wire.templates[i]!.bodyLength(this.wire.ids[i]!, 0);
  }

  writeBody(i: number, out: Buffer, offset: number): void {
    this.wire.templates[i]!.write(out, offset, this.wire.ids[i]!, 0);
  }

  read(i: number, bytes: Buffer, start: number, end: number): boolean {
    const msgId = this.wire.templates[i]!.replyMsgId(bytes, start, end, this.wire.ids[i]!);
    if (msgId >= 0) {
      this.replyMsgId = msgId;
      this.decoded = undefined;
      return true;
    }
    try {
      this.decoded = decodeBody(CommandId.MSG_DATA, bytes.subarray(start, end));
      return true;
    } catch {
      return false;
    }
  }

  replied(i: number): void {
    const decoded = this.decoded;
    if (decoded !== undefined) {
      this.decoded = undefined;
      this.storedAsDecoded(i, decoded);
    } else if (this.replyMsgId === 0) {
      // db_proxy could not allocate an id: a refusal, not a message (notes §6). Never forwarded.
      this.t.results.failed(i, 'teamtalk_rejected');
      this.stats.failed('teamtalk_rejected');
    } else {
      // The clock is read once per burst of replies (they are handled in one go, within the same millisecond).
      if (this.forwardCount === 0) {
        queueMicrotask(this.flushBound);
        this.burstAt = Date.now();
      }
      this.t.results.sent(i, this.replyMsgId);
      this.stats.sent(this.burstAt - this.t.dueAt);
      this.msgIds[i] = this.replyMsgId;
      this.toForward[this.forwardCount++] = i;
    }
    this.settled();
  }

  failed(i: number, err: Error): void {
    const kind = classify(err);
    if (kind !== 'not_sent' && err instanceof ConnectionError) {
      if (err.address !== undefined) this.round.addresses.add(err.address);
      if (err.answeredMeanwhile) this.round.alive = true;
    }
    if (kind === 'no_reply') this.round.noReply.push(i);
    else if (kind === 'uncertain') this.round.uncertain.push(i);
    else this.round.notSent.push(i);
    this.settled();
  }

  /** Resolves once at most `mark` requests are in flight (at once when there are). */
  below(mark: number): Promise<void> | void {
    if (this.inFlight <= mark) return;
    return new Promise((resolve) => {
      this.mark = mark;
      this.wake = resolve;
    });
  }

  /** Forwards the stored messages not yet forwarded (also run by itself right after each burst of replies). */
  flushForwards(): void {
    const n = this.forwardCount;
    if (n === 0) return;
    this.forwardCount = 0;
    if (!this.tt.forwardBatch(this.forwards, this.toForward, n)) this.round.unrouted += n;
  }

  /** A reply that is not the message as sent: handled as the per-message path handles every reply. */
  private storedAsDecoded(i: number, reply: StoredMessage): void {
    if (reply.msgId === 0) {
      this.t.results.failed(i, 'teamtalk_rejected');
      this.stats.failed('teamtalk_rejected');
      return;
    }
    this.t.results.sent(i, reply.msgId);
    this.stats.sent(Date.now() - this.t.dueAt);
    if (!this.tt.forward(reply)) this.round.unrouted++;
  }

  private settled(): void {
    this.inFlight--;
    if (this.wake !== undefined && this.inFlight <= this.mark) {
      const w = this.wake;
      this.wake = undefined;
      w();
    }
  }
}
