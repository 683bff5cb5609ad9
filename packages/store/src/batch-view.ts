/**
 * A batch as stored in its Redis hash, and its public view. Hash fields:
 *   from · content (absent: per-recipient contents only) · status · priority · app · key (the key id)
 *   created · updated · started · finished (ms) · send_at · deadline (ms, optional)
 *   total (valid + rejected) · valid · chunks · duplicates · rejected
 *   sending · sent · failed · cancelled (counters; queued is what is left)
 *   rt0/rn0, rt1/rn1: two (time, sent + failed) samples for the rate
 *   cb callback_url (webhooks: batch.completed goes there too)
 *   fp the fingerprint of the upload (a SHA-256 of the request) a repeat of its Idempotency-Key must match
 */
import type { Priority } from '@ttpush/contract';
import type { BatchStatus, BatchView } from '@ttpush/contract';
import { REJECTED_SAMPLE } from '@ttpush/contract';

export type BatchHash = Record<string, string>;

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

function num(v: string | undefined): number | undefined {
  return v === undefined || v === '' ? undefined : Number(v);
}

function int(v: string | undefined): number {
  return v === undefined || v === '' ? 0 : Number(v);
}

/** Messages per second, to one decimal. */
function round(rate: number): number {
  return Math.round(rate * 10) / 10;
}

/**
 * Messages per second lately. The chunks write progress in steps (at least every second while they send), and the
 * samples (rt0, rn0), (rt1, rn1) are taken at writes at least 2 s apart: the rate between them is exact, where one
 * from a sample to now would swing with the step just written. When no sample came for longer than their spacing,
 * sending slowed or stopped: the rate is then taken from the older sample to now, and decays towards 0.
 */
function recentRate(h: BatchHash, done: number, started: number, now: number): number {
  const t0 = num(h.rt0);
  const t1 = num(h.rt1) ?? started;
  if (t0 !== undefined && t1 > t0 && now - t1 <= t1 - t0)
    return Math.max(0, ((int(h.rn1) - int(h.rn0)) * 1000) / (t1 - t0));
  const from = t0 ?? t1;
  const n0 = t0 !== undefined ? int(h.rn0) : int(h.rn1);
  return now > from ? Math.max(0, ((done - n0) * 1000) / (now - from)) : 0;
}

export function toBatchView(id: string, h: BatchHash, now = Date.now()): BatchView | null {
  if (!h.status) return null;
  const status = h.status as BatchStatus;
  const valid = int(h.valid);
  const sending = int(h.sending);
  const sent = int(h.sent);
  const failed = int(h.failed);
  const cancelled = int(h.cancelled);
  const done = sent + failed;
  const queued = Math.max(0, valid - sending - sent - failed - cancelled);
  const started = num(h.started);
  const finished = num(h.finished);

  let rate = 0;
  if (started !== undefined && finished !== undefined) {
    rate = finished > started ? (done * 1000) / (finished - started) : done;
  } else if (started !== undefined && status !== 'cancelled') {
    rate = recentRate(h, done, started, now);
  }
  const left = queued + sending;
  const eta = (status === 'running' || status === 'queued') && rate > 0 && left > 0 ? Math.ceil(left / rate) : null;

  return {
    id,
    status,
    from: int(h.from),
    priority: (h.priority as Priority) ?? 'normal',
    total: int(h.total),
    counts: { queued: status === 'uploading' ? 0 : queued, sending, sent, failed, cancelled },
    rejected: int(h.rejected),
    rejected_listed: Math.min(int(h.rejected), REJECTED_SAMPLE),
    duplicates: int(h.duplicates),
    rate: round(rate),
    eta_seconds: status === 'running' || status === 'queued' ? (left === 0 ? 0 : eta) : null,
    created_at: iso(int(h.created))!,
    updated_at: iso(num(h.updated) ?? int(h.created))!,
    started_at: iso(started),
    finished_at: iso(finished),
    send_at: iso(num(h.send_at)),
    deadline: iso(num(h.deadline)),
  };
}
