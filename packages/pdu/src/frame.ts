/**
 * PDU framing (protocol notes §2): a 16-byte big-endian header, then the protobuf body.
 *
 * | 0 length (u32, header included) | 4 version (u16) | 6 flag | 8 service_id | 10 command_id | 12 seq_num | 14 reserved |
 *
 * Pure: no socket knowledge. The decoder bounds the length field before it trusts it and
 * never allocates the claimed length: it only joins bytes that have actually arrived.
 */
import { ProtocolError } from './errors.ts';
import { serviceOf } from './commands.ts';

export const HEADER_LENGTH = 16;
/** Every real peer sends version 1. */
export const PDU_VERSION = 1;
/** Default bound on a whole PDU. db_proxy message lists are the largest answers we read. */
export const DEFAULT_MAX_PDU_LENGTH = 1024 * 1024;

export interface Frame {
  readonly version: number;
  readonly flag: number;
  readonly serviceId: number;
  readonly commandId: number;
  readonly seqNum: number;
  readonly reserved: number;
  /** The protobuf body: a view into the received bytes, valid until the caller lets it go. */
  readonly body: Buffer;
}

export interface FrameHeaderInput {
  readonly commandId: number;
  /** Defaults to the command's high byte. */
  readonly serviceId?: number;
  readonly seqNum?: number;
}

/** Encodes one PDU. `seqNum` is truncated to 16 bits, as on the wire. */
export function encodeFrame(header: FrameHeaderInput, body: Uint8Array): Buffer {
  const length = HEADER_LENGTH + body.length;
  const out = Buffer.allocUnsafe(length);
  writeHeader(out, 0, length, header);
  out.set(body, HEADER_LENGTH);
  return out;
}

/** Writes a 16-byte header at `offset` of `out`: version 1, flag and reserved 0. */
export function writeHeader(out: Buffer, offset: number, length: number, header: FrameHeaderInput): void {
  const serviceId = header.serviceId ?? serviceOf(header.commandId);
  writeFields(out, offset, length, PDU_VERSION, 0, serviceId, header.commandId, (header.seqNum ?? 0) & 0xffff, 0);
}

/** writeHeader with the service given: for a writer of many frames of one command, no object per frame. */
export function writeHeaderOf(
  out: Buffer,
  offset: number,
  length: number,
  serviceId: number,
  commandId: number,
  seqNum: number,
): void {
  writeFields(out, offset, length, PDU_VERSION, 0, serviceId, commandId, seqNum & 0xffff, 0);
}

/**
 * The exact bytes of a received frame, every header field as received: for a peer that relays frames
 * unchanged. The decoder hands out the body as a view just past its header in the received buffer; the
 * header is taken from there when it is intact, and rebuilt field by field otherwise.
 */
export function frameBytes(frame: Frame): Buffer {
  const { body } = frame;
  const length = HEADER_LENGTH + body.length;
  if (body.byteOffset >= HEADER_LENGTH) {
    const whole = Buffer.from(body.buffer, body.byteOffset - HEADER_LENGTH, length);
    if (
      whole.readUInt32BE(0) === length &&
      whole.readUInt16BE(4) === frame.version &&
      whole.readUInt16BE(6) === frame.flag &&
      whole.readUInt16BE(8) === frame.serviceId &&
      whole.readUInt16BE(10) === frame.commandId &&
      whole.readUInt16BE(12) === frame.seqNum &&
      whole.readUInt16BE(14) === frame.reserved
    ) {
      return whole;
    }
  }
  const out = Buffer.allocUnsafe(length);
  const f = frame;
  writeFields(out, 0, length, f.version, f.flag, f.serviceId, f.commandId, f.seqNum, f.reserved);
  out.set(body, HEADER_LENGTH);
  return out;
}

// Positional, not an object, and byte stores rather than Buffer's write methods: writeHeader runs once per frame sent.
// prettier-ignore
function writeFields(
  out: Buffer, offset: number, length: number,
  version: number, flag: number, serviceId: number, commandId: number, seqNum: number, reserved: number,
): void {
  out[offset] = length >>> 24;
  out[offset + 1] = length >>> 16;
  out[offset + 2] = length >>> 8;
  out[offset + 3] = length;
  out[offset + 4] = version >>> 8;
  out[offset + 5] = version;
  out[offset + 6] = flag >>> 8;
  out[offset + 7] = flag;
  out[offset + 8] = serviceId >>> 8;
  out[offset + 9] = serviceId;
  out[offset + 10] = commandId >>> 8;
  out[offset + 11] = commandId;
  out[offset + 12] = seqNum >>> 8;
  out[offset + 13] = seqNum;
  out[offset + 14] = reserved >>> 8;
  out[offset + 15] = reserved;
}

/** The frame whose bytes are buf[offset..offset + length): its header fields, its body a view of `buf`. */
export function frameAt(buf: Buffer, offset: number, length: number): Frame {
  return {
    version: buf.readUInt16BE(offset + 4),
    flag: buf.readUInt16BE(offset + 6),
    serviceId: buf.readUInt16BE(offset + 8),
    commandId: buf.readUInt16BE(offset + 10),
    seqNum: buf.readUInt16BE(offset + 12),
    reserved: buf.readUInt16BE(offset + 14),
    body: buf.subarray(offset + HEADER_LENGTH, offset + length),
  };
}

export interface FrameDecoderOptions {
  /** Largest PDU accepted, header included. */
  readonly maxPduLength?: number;
}

/**
 * A streaming decoder: `push(chunk)` keeps leftover bytes and returns the whole frames completed.
 * A length under 16 or over the maximum throws a {@link ProtocolError}; after that the decoder
 * is poisoned (every later push throws the same error), since the stream cannot be resynchronised.
 */
export class FrameDecoder {
  readonly maxPduLength: number;
  /** Where the frames of the last pushSpans() lie. */
  spanBuffer: Buffer | undefined;
  private pending: Buffer[] = [];
  private pendingLength = 0;
  private failure: ProtocolError | undefined;

  constructor(options: FrameDecoderOptions = {}) {
    this.maxPduLength = options.maxPduLength ?? DEFAULT_MAX_PDU_LENGTH;
    if (!Number.isInteger(this.maxPduLength) || this.maxPduLength < HEADER_LENGTH) {
      throw new RangeError(`maxPduLength must be an integer of at least ${HEADER_LENGTH}, got ${this.maxPduLength}`);
    }
  }

  /** Bytes received but not yet part of a whole frame. */
  get bufferedLength(): number {
    return this.pendingLength;
  }

  push(chunk: Uint8Array): Frame[] {
    const spans: number[] = [];
    const n = this.pushSpans(chunk, spans);
    const frames: Frame[] = [];
    for (let k = 0; k < n; k++) frames.push(frameAt(this.spanBuffer!, spans[2 * k]!, spans[2 * k + 1]!));
    return frames;
  }

  /**
   * push() without a Frame object per frame, for a reader that looks at most frames where they lie: answers how
   * many whole frames completed, and writes their offsets and lengths to spans[0..2n) (the array is written over,
   * never shortened, so it can be reused); they lie in `spanBuffer` until the next push. frameAt() makes a Frame of
   * one. The same failures as push(), thrown before anything is handed out.
   */
  pushSpans(chunk: Uint8Array, spans: number[]): number {
    this.spanBuffer = undefined;
    if (this.failure) throw this.failure;
    if (chunk.length === 0) return 0;
    let buf: Buffer;
    if (this.pendingLength === 0) {
      buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    } else {
      // Join only while the leftover could hold a header: never copy towards a claimed length.
      this.pending.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
      this.pendingLength += chunk.length;
      if (!this.canComplete()) return 0;
      buf = Buffer.concat(this.pending, this.pendingLength);
      this.pending = [];
      this.pendingLength = 0;
    }
    let offset = 0;
    let n = 0;
    while (buf.length - offset >= 4) {
      const length = buf.readUInt32BE(offset);
      this.check(length);
      if (buf.length - offset < length) break;
      spans[2 * n] = offset;
      spans[2 * n + 1] = length;
      n++;
      offset += length;
    }
    if (offset < buf.length) {
      this.pending = [buf.subarray(offset)];
      this.pendingLength = buf.length - offset;
    }
    this.spanBuffer = buf;
    return n;
  }

  /** Drops buffered bytes and any failure, for reuse on a new connection. */
  reset(): void {
    this.pending = [];
    this.pendingLength = 0;
    this.failure = undefined;
  }

  /** Whether the pending bytes may complete a frame (or reveal a bad length). */
  private canComplete(): boolean {
    if (this.pendingLength < 4) return false;
    const length = this.peekLength();
    this.check(length);
    return this.pendingLength >= length;
  }

  private peekLength(): number {
    const first = this.pending[0]!;
    if (first.length >= 4) return first.readUInt32BE(0);
    const head = Buffer.concat(this.pending, 4);
    return head.readUInt32BE(0);
  }

  private check(length: number): void {
    if (length < HEADER_LENGTH) {
      this.failure = new ProtocolError('PDU_LENGTH_TOO_SMALL', `PDU length ${length} is under the 16-byte header`);
      throw this.failure;
    }
    if (length > this.maxPduLength) {
      this.failure = new ProtocolError(
        'PDU_LENGTH_TOO_LARGE',
        `PDU length ${length} exceeds the maximum of ${this.maxPduLength} bytes`,
      );
      throw this.failure;
    }
  }
}
