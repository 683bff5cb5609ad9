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
import type { Priority } from './types.ts';
import type { BatchStatus, BatchView } from './batch-types.ts';
import { REJECTED_SAMPLE } from './batch-keys.ts';

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
    // Over the older sample (2 to 4+ s old while chunks keep ending): it decays to 0 when sending stops.
    const t0 = num(h.rt0) ?? num(h.rt1) ?? started;
    const n0 = num(h.rt0) !== undefined ? int(h.rn0) : int(h.rn1);
    rate = now > t0 ? Math.max(0, ((done - n0) * 1000) / (now - t0)) : 0;
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
