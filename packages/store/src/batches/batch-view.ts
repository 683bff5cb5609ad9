/** A batch as stored in its Redis hash (BATCH_FIELDS), and its public view. */
import { BATCH_FIELDS as F, REJECTED_SAMPLE, type BatchStatus, type BatchView, type Priority } from '@ttpush/contract';

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
  const t0 = num(h[F.rateTime0]);
  const t1 = num(h[F.rateTime1]) ?? started;
  if (t0 !== undefined && t1 > t0 && now - t1 <= t1 - t0)
    return Math.max(0, ((int(h[F.rateDone1]) - int(h[F.rateDone0])) * 1000) / (t1 - t0));
  const from = t0 ?? t1;
  const n0 = t0 !== undefined ? int(h[F.rateDone0]) : int(h[F.rateDone1]);
  return now > from ? Math.max(0, ((done - n0) * 1000) / (now - from)) : 0;
}

export function toBatchView(id: string, h: BatchHash, now = Date.now()): BatchView | null {
  if (!h[F.status]) return null;
  const status = h[F.status] as BatchStatus;
  const valid = int(h[F.valid]);
  const sending = int(h[F.sending]);
  const sent = int(h[F.sent]);
  const failed = int(h[F.failed]);
  const cancelled = int(h[F.cancelled]);
  const done = sent + failed;
  const queued = Math.max(0, valid - sending - sent - failed - cancelled);
  const started = num(h[F.started]);
  const finished = num(h[F.finished]);

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
    from: int(h[F.from]),
    priority: (h[F.priority] as Priority) ?? 'normal',
    total: int(h[F.total]),
    counts: { queued: status === 'uploading' ? 0 : queued, sending, sent, failed, cancelled },
    rejected: int(h[F.rejected]),
    rejected_listed: Math.min(int(h[F.rejected]), REJECTED_SAMPLE),
    duplicates: int(h[F.duplicates]),
    rate: round(rate),
    eta_seconds: status === 'running' || status === 'queued' ? (left === 0 ? 0 : eta) : null,
    created_at: iso(int(h[F.created]))!,
    updated_at: iso(num(h[F.updated]) ?? int(h[F.created]))!,
    started_at: iso(started),
    finished_at: iso(finished),
    send_at: iso(num(h[F.sendAt])),
    deadline: iso(num(h[F.deadline])),
  };
}
