/**
 * IMMsgData for many messages that differ only in to_session_id and msg_id (a batch: one text from one sender
 * to many recipients). The fields that stay the same are encoded once; each message writes its two varints
 * around them, straight into the caller's buffer: no protobuf writer and no body object per message.
 *
 * The bytes are exactly those encodeBody(MSG_DATA, ...) writes for the same fields: fields 1 to 6 in field order,
 * every required field written (a zero msg_id included), uint32 as the unsigned varint of `value >>> 0`, the enum
 * msg_type as an int32 (a negative value as ten bytes). attach_data (field 20), when the connection adds it,
 * comes after them, as encodeBody would write it.
 *
 *   08 <from_user_id> 10 <to_session_id> 18 <msg_id> 20 <create_time> 28 <msg_type> 32 <len> <msg_data>
 *   └──── head ─────┘                            └──────────────────── tail ─────────────────────────┘
 */

/** The fields a template fixes. */
export interface MsgDataTemplateFields {
  readonly fromUserId: number;
  readonly createTime: number;
  readonly msgType: number;
  readonly msgData: Uint8Array;
}

const TAG_FROM = 0x08;
const TAG_TO = 0x10;
const TAG_MSG_ID = 0x18;
const TAG_CREATE_TIME = 0x20;
const TAG_MSG_TYPE = 0x28;
const TAG_MSG_DATA = 0x32;
/** attach_data: field 20, wire type 2, whose tag is the two-byte varint a2 01. */
const TAG_ATTACH_0 = 0xa2;
const TAG_ATTACH_1 = 0x01;

/** Bytes of the unsigned varint of `v` (a uint32). */
export function varint32Length(v: number): number {
  v >>>= 0;
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Writes the unsigned varint of `v` (a uint32) at `offset`; returns the offset after it. */
export function writeVarint32(out: Uint8Array, offset: number, v: number): number {
  v >>>= 0;
  while (v >= 0x80) {
    out[offset++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[offset++] = v;
  return offset;
}

/** protobuf's int32: a negative value is sign-extended to 64 bits, ten bytes. */
function int32Bytes(v: number): number[] {
  v |= 0;
  if (v >= 0) return varintBytes(v);
  const bytes: number[] = [];
  let lo = v >>> 0;
  let hi = 0xffffffff;
  for (let i = 0; i < 9; i++) {
    bytes.push((lo & 0x7f) | 0x80);
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  bytes.push(lo & 0x7f);
  return bytes;
}

function varintBytes(v: number): number[] {
  const out = new Uint8Array(5);
  return [...out.subarray(0, writeVarint32(out, 0, v))];
}

export class MsgDataTemplate {
  readonly fromUserId: number;
  readonly createTime: number;
  readonly msgType: number;
  readonly msgData: Uint8Array;
  /** 08 <from_user_id> 10 */
  private readonly head: Buffer;
  /** 20 <create_time> 28 <msg_type> 32 <len> <msg_data> */
  private readonly tail: Buffer;

  constructor(fields: MsgDataTemplateFields) {
    this.fromUserId = fields.fromUserId;
    this.createTime = fields.createTime;
    this.msgType = fields.msgType;
    this.msgData = fields.msgData;
    this.head = Buffer.from([TAG_FROM, ...varintBytes(fields.fromUserId), TAG_TO]);
    const fixed = [
      TAG_CREATE_TIME,
      ...varintBytes(fields.createTime),
      TAG_MSG_TYPE,
      ...int32Bytes(fields.msgType),
      TAG_MSG_DATA,
      ...varintBytes(fields.msgData.length),
    ];
    this.tail = Buffer.allocUnsafe(fixed.length + fields.msgData.length);
    this.tail.set(fixed, 0);
    this.tail.set(fields.msgData, fixed.length);
  }

  /** Bytes of the body for this recipient and msg_id, attach_data excluded. */
  bodyLength(toSessionId: number, msgId: number): number {
    return this.head.length + varint32Length(toSessionId) + 1 + varint32Length(msgId) + this.tail.length;
  }

  /** Writes the body (attach_data excluded) at `offset` of `out`; returns the offset after it. */
  write(out: Buffer, offset: number, toSessionId: number, msgId: number): number {
    const head = this.head;
    for (let k = 0; k < head.length; k++) out[offset++] = head[k]!;
    offset = writeVarint32(out, offset, toSessionId);
    out[offset++] = TAG_MSG_ID;
    offset = writeVarint32(out, offset, msgId);
    this.tail.copy(out, offset);
    return offset + this.tail.length;
  }

  /** The whole body, attach_data included when given: what encodeBody(MSG_DATA, ...) makes of the same fields. */
  encode(toSessionId: number, msgId: number, attachData?: Uint8Array): Buffer {
    const length = this.bodyLength(toSessionId, msgId);
    const attach = attachData === undefined ? 0 : 2 + varint32Length(attachData.length) + attachData.length;
    const out = Buffer.allocUnsafe(length + attach);
    let at = this.write(out, 0, toSessionId, msgId);
    if (attachData !== undefined) {
      out[at++] = TAG_ATTACH_0;
      out[at++] = TAG_ATTACH_1;
      at = writeVarint32(out, at, attachData.length);
      out.set(attachData, at);
    }
    return out;
  }

  /**
   * A reply, the body bytes[start..end), that is this template's message to `toSessionId` as it was sent, with
   * db_proxy's msg_id, optionally followed by attach_data (and nothing else): its msg_id. -1 for anything else
   * (another field, another value, another order): the caller decodes such a reply in full.
   */
  replyMsgId(body: Uint8Array, start: number, end: number, toSessionId: number): number {
    const head = this.head;
    const tail = this.tail;
    // The shortest reply: head, to_session_id and msg_id of a byte each, the tag of msg_id, the tail.
    if (end - start < head.length + 3 + tail.length) return -1;
    for (let k = 0; k < head.length; k++) if (body[start + k] !== head[k]) return -1;
    let at = start + head.length;
    // to_session_id as sent: its shortest varint, byte for byte (the same value written longer, legal protobuf, is
    // not "as sent": decoded in full).
    let v = toSessionId >>> 0;
    while (v >= 0x80) {
      if (body[at++] !== ((v & 0x7f) | 0x80)) return -1;
      v >>>= 7;
    }
    if (body[at++] !== v || body[at++] !== TAG_MSG_ID) return -1;
    // msg_id: a varint of five bytes at most, read as protobufjs reads a uint32.
    let msgId = 0;
    for (let shift = 0; ; shift += 7) {
      if (shift > 28 || at >= end) return -1;
      const b = body[at++]!;
      msgId |= (b & 0x7f) << shift;
      if (b < 0x80) break;
    }
    const n = tail.length;
    if (end - at < n) return -1;
    if (tail.compare(body, at, at + n) !== 0) return -1;
    at += n;
    if (at === end) return msgId >>> 0;
    // attach_data, once: its tag, a length (one or two bytes), the bytes to the end.
    if (end - at < 3 || body[at] !== TAG_ATTACH_0 || body[at + 1] !== TAG_ATTACH_1) return -1;
    let length = body[at + 2]!;
    at += 3;
    if (length >= 0x80) {
      if (at >= end || body[at]! >= 0x80) return -1;
      length = (length & 0x7f) | (body[at++]! << 7);
    }
    return at + length === end ? msgId >>> 0 : -1;
  }
}
