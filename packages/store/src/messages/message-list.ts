/**
 * Listing messages newest first (GET /v1/messages, the console's recent messages). The accept script adds each
 * message id to sorted sets scored by its accept time (ms), one per partition so that each stays on its
 * partition's Redis Cluster slot (keys.ts): the app's index, the key's index for keys without read_all, and a
 * capped index of every app's newest messages. A page merges the partitions' indexes newest first, reads the
 * records and filters them while it scans. A page scans at most SCAN_BUDGET index entries, whatever the filter,
 * so a request never costs more than that: a filtered page may come back short (even empty) with a next cursor.
 *
 * Index entries older than the records' retention are trimmed by the accept script; an entry whose record is
 * gone (expired, or a retention shortened since) is skipped.
 */
import type { Redis } from 'ioredis';
import type { Keys } from '@ttpush/contract';
import { MESSAGE_FIELDS, MESSAGE_ID } from '@ttpush/contract';
import { parseRecord, toView, type MessageRecord } from './record.ts';
import type { MessageStatus, MessageView } from '@ttpush/contract';

/** Entries the recent index (every app: the console) keeps per partition. */
export const RECENT_INDEX_SIZE = 1000;
/** Index entries one page reads at most, matching or not. */
export const SCAN_BUDGET = 1000;
export const LIST_DEFAULT_LIMIT = 50;
export const LIST_MAX_LIMIT = 500;

/** Where a page ends: the accept time and id of the last entry it scanned. Pages go on strictly after it. */
export interface ListPosition {
  at: number;
  id: string;
}

export type ListScope =
  /** The app's messages; with `key`, only those that key sent (a key without read_all). */
  | { app: string; key?: string }
  /** Every app's newest messages (the console): the last RECENT_INDEX_SIZE per partition. */
  | { all: true };

export interface ListQuery {
  scope: ListScope;
  /** Any of these statuses; absent: all. */
  statuses?: ReadonlySet<MessageStatus>;
  from?: number;
  toUser?: number;
  toGroup?: number;
  /** Accepted at or after (Unix ms). */
  since?: number;
  /** Accepted before (Unix ms). */
  until?: number;
  /** 1..LIST_MAX_LIMIT. */
  limit: number;
  after?: ListPosition;
}

export interface ListedMessage {
  view: MessageView;
  /** The app that sent it. */
  app: string;
}

export interface ListPage {
  /** Newest first. */
  messages: ListedMessage[];
  /** Where the next page starts; null: nothing older is left. */
  next: ListPosition | null;
}

/** The cursor callers see: opaque (base64url of "<ms>.<id>"). */
export function encodeListCursor(p: ListPosition): string {
  return Buffer.from(`${p.at}.${p.id}`, 'utf8').toString('base64url');
}

/** The position of a cursor, or null when it is not one this service wrote. */
export function decodeListCursor(cursor: string): ListPosition | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return null;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^(\d{1,15})\.(msg_[0-9a-z]{10,40})$/.exec(text);
  if (!m || !MESSAGE_ID.test(m[2]!)) return null;
  return { at: Number(m[1]), id: m[2]! };
}

/** Newest first: a higher accept time, then (same millisecond) the greater id, as ZREVRANGEBYSCORE orders ties. */
function newer(a: ListPosition, b: ListPosition): boolean {
  return a.at !== b.at ? a.at > b.at : a.id > b.id;
}

/**
 * One partition's index, read newest first in slices. Each slice after the first starts at the score of the last
 * entry read, skipping the entries of that score already read: entries accepted meanwhile (newer) cannot shift it.
 */
class IndexCursor {
  private buffer: ListPosition[] = [];
  /** The last entry read from Redis, and how many read entries share its score. */
  private last: ListPosition | undefined;
  private ties = 0;
  done = false;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly max: string,
    private readonly min: string,
    private readonly after: ListPosition | undefined,
  ) {}

  head(): ListPosition | undefined {
    return this.buffer[0];
  }

  shift(): ListPosition | undefined {
    return this.buffer.shift();
  }

  /** Reads the next slice when the buffer is empty; entries at or before `after` (ties of its ms) are dropped. */
  async fill(count: number): Promise<void> {
    while (this.buffer.length === 0 && !this.done) {
      const max = this.last ? String(this.last.at) : this.max;
      const raw = await this.redis.zrevrangebyscore(
        this.key,
        max,
        this.min,
        'WITHSCORES',
        'LIMIT',
        this.last ? this.ties : 0,
        count,
      );
      if (raw.length / 2 < count) this.done = true;
      for (let i = 0; i < raw.length; i += 2) {
        const e = { id: raw[i]!, at: Number(raw[i + 1]) };
        this.ties = this.last && this.last.at === e.at ? this.ties + 1 : 1;
        this.last = e;
        if (this.after === undefined || newer(this.after, e)) this.buffer.push(e);
      }
    }
  }
}

function matches(q: ListQuery, r: MessageRecord, key: string | undefined): boolean {
  if ('app' in q.scope) {
    if (r.app !== q.scope.app) return false;
    if (q.scope.key !== undefined && key !== q.scope.key) return false;
  }
  if (q.statuses && !q.statuses.has(r.status)) return false;
  if (q.from !== undefined && r.from !== q.from) return false;
  if (q.toUser !== undefined && !('user' in r.to && r.to.user === q.toUser)) return false;
  if (q.toGroup !== undefined && !('group' in r.to && r.to.group === q.toGroup)) return false;
  return true;
}

/** One page of `q`, reading the indexes of every partition of `keys`. */
export async function listMessages(redis: Redis, keys: Keys, q: ListQuery, budget = SCAN_BUDGET): Promise<ListPage> {
  const scope = q.scope;
  const indexKey = (p: number) =>
    'all' in scope
      ? keys.recentIndex(p)
      : scope.key !== undefined
        ? keys.keyIndex(scope.key, p)
        : keys.appIndex(scope.app, p);
  // The score range: [since, min(until) or the cursor's ms]; ties of the cursor's ms are dropped by id.
  let max = q.until !== undefined ? `(${q.until}` : '+inf';
  if (q.after && (q.until === undefined || q.after.at < q.until)) max = String(q.after.at);
  const min = q.since !== undefined ? String(q.since) : '-inf';
  const slice = Math.min(budget, Math.max(q.limit + 1, 32));
  const sources = keys.all.map((p) => new IndexCursor(redis, indexKey(p), max, min, q.after));
  const records: ListedMessage[] = [];
  let scanned = 0;
  let last: ListPosition | undefined;
  let leftover = 0;
  while (records.length < q.limit && scanned < budget) {
    await Promise.all(sources.map((s) => s.fill(slice)));
    // The next candidates in newest-first order, as many as could still be wanted, within the budget.
    const want = Math.min(budget - scanned, Math.max(q.limit - records.length, 16));
    const candidates: ListPosition[] = [];
    while (candidates.length < want) {
      let best: IndexCursor | undefined;
      for (const s of sources) {
        const h = s.head();
        if (h && (!best || newer(h, best.head()!))) best = s;
      }
      if (!best) break;
      candidates.push(best.shift()!);
      // A source emptied mid-round may hold older entries than the others' heads: refill before going on.
      if (best.head() === undefined && !best.done) break;
    }
    if (candidates.length === 0) return { messages: records, next: null };
    const rows = await Promise.all(candidates.map((c) => redis.hgetall(keys.message(c.id))));
    for (let i = 0; i < candidates.length; i++) {
      scanned++;
      last = candidates[i]!;
      const r = parseRecord(last.id, rows[i]!);
      if (r && matches(q, r, rows[i]![MESSAGE_FIELDS.key])) records.push({ view: toView(r), app: r.app });
      if (records.length === q.limit) {
        leftover = candidates.length - i - 1;
        break;
      }
    }
  }
  // Stopped at the limit or the budget: is anything left after `last`?
  if (leftover === 0) await Promise.all(sources.map((s) => s.fill(1)));
  const more = leftover > 0 || sources.some((s) => s.head() !== undefined);
  return { messages: records, next: more && last ? last : null };
}
