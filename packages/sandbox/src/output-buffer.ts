/**
 * Collects the PDUs a connection sends during one tick into one buffer, so a burst of replies
 * leaves in one socket write instead of one write per reply.
 */
import { HEADER_LENGTH, writeHeader } from '@ttpush/pdu';

const INITIAL = 64 * 1024;

export class OutputBuffer {
  private buf: Buffer | undefined;
  private used = 0;

  get length(): number {
    return this.used;
  }

  /** Appends bytes (a whole PDU). */
  push(bytes: Uint8Array): void {
    this.reserve(bytes.length).set(bytes, this.used);
    this.used += bytes.length;
  }

  /** Appends a PDU built from a command, a seq_num and an encoded body. */
  pushFrame(commandId: number, seqNum: number, body: Uint8Array): void {
    const length = HEADER_LENGTH + body.length;
    const out = this.reserve(length);
    writeHeader(out, this.used, length, { commandId, seqNum });
    out.set(body, this.used + HEADER_LENGTH);
    this.used += length;
  }

  /** Hands over what was collected and starts a new buffer. */
  take(): Buffer | undefined {
    if (this.used === 0 || !this.buf) return undefined;
    const out = this.buf.subarray(0, this.used);
    this.buf = undefined;
    this.used = 0;
    return out;
  }

  private reserve(n: number): Buffer {
    const buf = this.buf;
    if (buf && buf.length - this.used >= n) return buf;
    const next = Buffer.allocUnsafe(Math.max(INITIAL, (this.used + n) * 2));
    if (buf) buf.copy(next, 0, 0, this.used);
    this.buf = next;
    return next;
  }
}
