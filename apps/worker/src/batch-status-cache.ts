/**
 * The status of batches whose chunks this worker is sending, read from Redis at most every `ttlMs`
 * per batch: chunks check it between windows (cancel, pause) without a Redis round trip each time.
 */
import type { BatchStore } from '@ttpush/store';

interface Entry {
  /** null: the batch is gone. */
  status: string | null;
  at: number;
  refreshing: boolean;
  holders: number;
}

export class BatchStatusCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly batches: BatchStore,
    private readonly ttlMs: number,
  ) {}

  /** Starts following a batch whose status was just read (e.g. by the claim). */
  hold(id: string, status: string): void {
    const e = this.entries.get(id);
    if (e) {
      e.holders++;
      e.status = status;
      e.at = Date.now();
    } else {
      this.entries.set(id, { status, at: Date.now(), refreshing: false, holders: 1 });
    }
  }

  release(id: string): void {
    const e = this.entries.get(id);
    if (e && --e.holders <= 0) this.entries.delete(id);
  }

  /** The last known status; starts a refresh in the background when it is older than ttlMs. */
  peek(id: string): string | null | undefined {
    const e = this.entries.get(id);
    if (!e) return undefined;
    if (!e.refreshing && Date.now() - e.at >= this.ttlMs) {
      e.refreshing = true;
      this.batches.status(id).then(
        (s) => {
          e.status = s;
          e.at = Date.now();
          e.refreshing = false;
        },
        () => {
          // Redis unreachable: keep the last status and try again on the next look.
          e.refreshing = false;
        },
      );
    }
    return e.status;
  }
}
