/**
 * Requests in flight per conversation, so a test can check that a client keeps at most one
 * IMMsgData per conversation outstanding (the only way to keep order, notes §6).
 */

export class ConversationInFlight {
  private readonly pairs = new Map<number, Map<number, number>>();
  private readonly groups = new Map<number, number>();
  /** The highest count any one conversation reached. */
  max = 0;

  /** Counts one more request for the conversation (a group id in `b` when `group`). */
  add(group: boolean, a: number, b: number): void {
    let n: number;
    if (group) {
      n = (this.groups.get(b) ?? 0) + 1;
      this.groups.set(b, n);
    } else {
      const lo = a < b ? a : b;
      const hi = a < b ? b : a;
      let inner = this.pairs.get(lo);
      if (!inner) {
        inner = new Map();
        this.pairs.set(lo, inner);
      }
      n = (inner.get(hi) ?? 0) + 1;
      inner.set(hi, n);
    }
    if (n > this.max) this.max = n;
  }

  remove(group: boolean, a: number, b: number): void {
    if (group) {
      const n = (this.groups.get(b) ?? 1) - 1;
      if (n <= 0) this.groups.delete(b);
      else this.groups.set(b, n);
      return;
    }
    const lo = a < b ? a : b;
    const hi = a < b ? b : a;
    const inner = this.pairs.get(lo);
    if (!inner) return;
    const n = (inner.get(hi) ?? 1) - 1;
    if (n > 0) inner.set(hi, n);
    else {
      inner.delete(hi);
      if (inner.size === 0) this.pairs.delete(lo);
    }
  }

  clear(): void {
    this.pairs.clear();
    this.groups.clear();
  }
}
