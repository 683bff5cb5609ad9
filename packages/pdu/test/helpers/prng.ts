/**
 * A small seeded PRNG (mulberry32) so random chunkings, shuffles and fuzz inputs are the same on
 * every run: a failure can be replayed from its seed.
 */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max] (both included). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  bytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i++) out[i] = this.int(0, 255);
    return out;
  }

  /** Shuffles in place (Fisher–Yates) and returns the array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      const a = items[i]!;
      items[i] = items[j]!;
      items[j] = a;
    }
    return items;
  }

  /** Cuts `buf` into consecutive chunks of 1..maxChunk bytes. */
  chunks(buf: Buffer, maxChunk: number): Buffer[] {
    const out: Buffer[] = [];
    let offset = 0;
    while (offset < buf.length) {
      const size = this.int(1, maxChunk);
      out.push(buf.subarray(offset, offset + size));
      offset += size;
    }
    return out;
  }
}
