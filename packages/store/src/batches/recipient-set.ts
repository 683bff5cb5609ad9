/**
 * The recipients an upload has seen, to drop repeats: users and groups (distinct id spaces), each an open-addressing
 * hash set of uint32 ids in a typed array. An upload may hold millions: a JS Set costs several times the memory
 * and most of an NDJSON line's time to add to.
 */
import type { Recipient } from '@ttpush/contract';

/** Ids are 1 to 4294967295: 0 marks a free slot. */
const FREE = 0;
const FIRST_BITS = 10;
/** Grown past this share of slots in use: probes stay short. */
const MAX_LOAD = 0.6;

class IdSet {
  private slots = new Uint32Array(1 << FIRST_BITS);
  private bits = FIRST_BITS;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds `id` (1 to 4294967295); false when it was there already. */
  add(id: number): boolean {
    if (this.count + 1 > this.slots.length * MAX_LOAD) this.grow();
    if (!IdSet.insert(this.slots, this.bits, id)) return false;
    this.count++;
    return true;
  }

  private grow(): void {
    const old = this.slots;
    this.bits++;
    this.slots = new Uint32Array(1 << this.bits);
    for (let i = 0; i < old.length; i++) if (old[i] !== FREE) IdSet.insert(this.slots, this.bits, old[i]!);
  }

  private static insert(slots: Uint32Array, bits: number, id: number): boolean {
    const mask = slots.length - 1;
    // Fibonacci hashing: the top bits of id × 2^32/φ spread runs of consecutive ids.
    let i = Math.imul(id, 0x9e3779b1) >>> (32 - bits);
    for (;;) {
      const s = slots[i]!;
      if (s === FREE) {
        slots[i] = id;
        return true;
      }
      if (s === id) return false;
      i = (i + 1) & mask;
    }
  }
}

export class RecipientSet {
  private readonly users = new IdSet();
  private readonly groups = new IdSet();

  get size(): number {
    return this.users.size + this.groups.size;
  }

  /** Adds a recipient; false when it was there already. */
  add(to: Recipient): boolean {
    return 'user' in to ? this.users.add(to.user) : this.groups.add(to.group);
  }
}
