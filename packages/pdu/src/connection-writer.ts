/**
 * The ordered write path of one connection. Writes made during one turn of the event loop are
 * joined and handed to the socket together (one syscall instead of thousands when requests are
 * pipelined); when the socket says its buffer is full, nothing more is written until its 'drain',
 * and later writes wait in order behind it.
 */
import type { Socket } from 'node:net';

/** Largest single buffer handed to the socket at once. */
const MAX_BATCH_BYTES = 256 * 1024;

export class ConnectionWriter {
  private socket: Socket | undefined;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  /** socket.write() returned false: wait for the socket's 'drain'. */
  private blocked = false;
  /** A caller was told "full": tell it when there is room again. */
  private needDrain = false;
  private immediate: NodeJS.Immediate | undefined;
  private readonly flushBound = () => {
    this.immediate = undefined;
    this.flush();
  };
  private readonly onSocketDrain = () => {
    this.blocked = false;
    this.flush();
  };

  constructor(
    /** Bytes queued or in the socket's buffer above which `write()` answers false. */
    private readonly highWaterMark: number,
    /** Called when a writer that answered false can take more. */
    private readonly onDrain: () => void,
  ) {}

  /** Whether a write now would be accepted without going over the high-water mark. */
  get writable(): boolean {
    return (
      this.socket !== undefined && !this.blocked && this.queuedBytes + this.socket.writableLength < this.highWaterMark
    );
  }

  /** Bytes waiting here, not yet handed to the socket. */
  get bufferedBytes(): number {
    return this.queuedBytes;
  }

  attach(socket: Socket): void {
    this.detach();
    this.socket = socket;
    socket.on('drain', this.onSocketDrain);
  }

  /** Forgets the socket; returns how many queued bytes were dropped. */
  detach(): number {
    const dropped = this.queuedBytes;
    this.socket?.off('drain', this.onSocketDrain);
    this.socket = undefined;
    this.queue = [];
    this.queuedBytes = 0;
    this.blocked = false;
    this.needDrain = false;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
    return dropped;
  }

  /**
   * Queues `buf` after everything written before it. Returns false when the caller should wait for
   * the drain callback before writing more (the bytes are queued all the same).
   */
  write(buf: Buffer): boolean {
    if (!this.socket) return false;
    this.queue.push(buf);
    this.queuedBytes += buf.length;
    if (!this.immediate && !this.blocked) this.immediate = setImmediate(this.flushBound);
    const ok = !this.blocked && this.queuedBytes + this.socket.writableLength < this.highWaterMark;
    if (!ok) this.needDrain = true;
    return ok;
  }

  /** Hands everything queued to the socket now, ignoring backpressure (used before a graceful end). */
  flushAll(): void {
    this.flush(true);
  }

  private flush(ignoreBackpressure = false): void {
    const socket = this.socket;
    if (!socket) return;
    const q = this.queue;
    let i = 0;
    while (i < q.length && (ignoreBackpressure || !this.blocked)) {
      let j = i;
      let bytes = 0;
      while (j < q.length && (j === i || bytes + q[j]!.length <= MAX_BATCH_BYTES)) {
        bytes += q[j]!.length;
        j++;
      }
      const batch = j - i === 1 ? q[i]! : (adjacent(q, i, j, bytes) ?? Buffer.concat(q.slice(i, j), bytes));
      i = j;
      this.queuedBytes -= bytes;
      if (!socket.write(batch)) {
        // Whoever sees `writable` go false is owed a 'drain', even if its own write() answered true.
        this.blocked = true;
        this.needDrain = true;
      }
    }
    this.queue = i === q.length ? [] : q.slice(i);
    if (this.needDrain && this.queue.length === 0 && !this.blocked) {
      this.needDrain = false;
      this.onDrain();
    }
  }
}

/**
 * q[i..j) as one view when they lie end to end in one ArrayBuffer (pieces cut in turn from one slab, as batched
 * PDUs are): no copy. Undefined otherwise.
 */
function adjacent(q: readonly Buffer[], i: number, j: number, bytes: number): Buffer | undefined {
  const first = q[i]!;
  const memory = first.buffer;
  let end = first.byteOffset + first.length;
  for (let k = i + 1; k < j; k++) {
    const b = q[k]!;
    if (b.buffer !== memory || b.byteOffset !== end) return undefined;
    end += b.length;
  }
  return Buffer.from(memory, first.byteOffset, bytes);
}
