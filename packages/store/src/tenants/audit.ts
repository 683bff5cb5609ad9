/**
 * The tenant audit log (P:tn:audit): a stream of admin changes, capped at about AUDIT_MAX_ENTRIES, newest read
 * first. An entry's fields: at (ms) · action · app · key_id · changes (JSON, never a secret) · request_id.
 */
import type { Redis } from 'ioredis';
import type { AuditEntry } from './records.ts';

export const AUDIT_MAX_ENTRIES = 10_000;

export type AuditInput = Omit<AuditEntry, 'id' | 'at' | 'who'>;

export interface AuditQuery {
  app?: string | undefined;
  cursor?: string | undefined;
  limit: number;
}

export interface AuditPage {
  entries: AuditEntry[];
  next_cursor: string | null;
}

/** Appends an entry; its stream id. */
export async function appendAudit(redis: Redis, key: string, entry: AuditInput, now: number): Promise<string> {
  const id = await redis.xadd(
    key,
    'MAXLEN',
    '~',
    AUDIT_MAX_ENTRIES,
    '*',
    'at',
    now,
    'action',
    entry.action,
    'app',
    entry.app ?? '',
    'key_id',
    entry.key_id ?? '',
    'changes',
    JSON.stringify(entry.changes),
    'request_id',
    entry.request_id ?? '',
  );
  return id!;
}

function fieldsOf(flat: string[]): Record<string, string> {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!;
  return f;
}

function toEntry(id: string, f: Record<string, string>): AuditEntry {
  return {
    id,
    at: new Date(Number(f.at)).toISOString(),
    who: 'admin',
    action: f.action ?? '',
    app: f.app || null,
    key_id: f.key_id || null,
    changes: JSON.parse(f.changes || '{}') as Record<string, unknown>,
    request_id: f.request_id || null,
  };
}

/**
 * Entries, newest first, from before `cursor` (an entry id) if given. With `app`, entries of other apps are
 * skipped; a page may then be short, and next_cursor says where to go on (null: the end).
 */
export async function readAudit(redis: Redis, key: string, q: AuditQuery): Promise<AuditPage> {
  const entries: AuditEntry[] = [];
  let end = q.cursor === undefined ? '+' : `(${q.cursor}`;
  // With a filter, at most this many entries are read per page.
  let budget = q.app === undefined ? q.limit : Math.max(q.limit, 2000);
  let last: string | null = null;
  let exhausted = false;
  while (entries.length < q.limit && budget > 0) {
    const count = Math.min(budget, q.app === undefined ? q.limit - entries.length : 200);
    const rows = await redis.xrevrange(key, end, '-', 'COUNT', count);
    budget -= rows.length;
    for (const [id, flat] of rows) {
      last = id;
      const f = fieldsOf(flat);
      if (q.app !== undefined && f.app !== q.app) continue;
      entries.push(toEntry(id, f));
      if (entries.length === q.limit) break;
    }
    if (rows.length < count) {
      // The stream's end was read; it is exhausted only if the page did not fill before its last row.
      exhausted = rows.length === 0 || last === rows[rows.length - 1]![0];
      break;
    }
    end = `(${last}`;
  }
  return { entries, next_cursor: exhausted || last === null ? null : last };
}
