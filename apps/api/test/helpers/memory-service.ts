/**
 * An in-memory MessageService for the HTTP tests: a test double of our own interface (not of Redis),
 * with switches for the cases the API must handle: Redis down, a message that becomes sent with a
 * msg_id after a delay, one that fails with a code, one that stays queued or stays sending.
 */
import { IdempotencyKeyReusedError, submitFingerprint } from '../../src/idempotency.ts';
import { ServiceUnavailableError, type ListPage, type ListQuery } from '@ttpush/store';
import {
  TERMINAL_STATUSES,
  type HealthReport,
  type MessageStatus,
  type MessageView,
  type Owner,
  type SubmitRequest,
} from '@ttpush/contract';
import type { CancelResult, SubmitOptions, SubmitResult } from '../../src/message-service.ts';
import type { MessageService } from '../../src/message-service.ts';
import { splitParts } from '@ttpush/store';

/** What happens to the next messages submitted. */
export type Plan =
  | { kind: 'sent'; msgId: number; afterMs: number }
  | { kind: 'failed'; code: string; afterMs: number }
  /** Stays queued (cancellable) until cancelled. */
  | { kind: 'hold' }
  /** Goes to `sending` at once and stays there (not cancellable). */
  | { kind: 'sending' };

export const READY_HEALTH: HealthReport = {
  redis: true,
  workers: [{ id: 'w1', dbProxyReady: true, routeReady: true, seenMsAgo: 100, connections: {} }],
};

export class MemoryService implements MessageService {
  /** When true every method throws ServiceUnavailableError, as the Redis-backed one does. */
  redisDown = false;
  plan: Plan = { kind: 'hold' };
  healthReport: HealthReport = READY_HEALTH;
  /** When set, submit throws it (a bug, not an outage). */
  submitBug: Error | undefined;
  /** Called after each new message is stored (e.g. to take Redis down between submit and wait). */
  afterSubmit: (() => void) | undefined;
  readonly submitted: SubmitRequest[] = [];
  readonly cancelCalls: string[] = [];
  private readonly messages = new Map<string, MessageView>();
  private readonly owners = new Map<string, Owner>();
  /** Scoped key → [first message id, fingerprint of its request]. */
  private readonly byIdempotencyKey = new Map<string, [string, string]>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private nextId = 1;

  private check(): void {
    if (this.redisDown) throw new ServiceUnavailableError('Redis is unreachable (test switch)');
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private update(id: string, status: MessageStatus, patch: Partial<MessageView> = {}): void {
    const view = this.messages.get(id);
    if (!view || TERMINAL_STATUSES.has(view.status)) return;
    const now = new Date().toISOString();
    this.messages.set(id, { ...view, ...patch, status, updated_at: now });
    if (TERMINAL_STATUSES.has(status)) {
      for (const wake of this.waiters.get(id) ?? []) wake();
      this.waiters.delete(id);
    }
  }

  async submit(req: SubmitRequest, opts: SubmitOptions = {}): Promise<SubmitResult> {
    const result = await this.accept(req);
    if (opts.waitMs === undefined) return result;
    // As the Redis service: the outcome once terminal, the view as accepted when the wait runs out.
    const accepted = result.view;
    const outcome = this.waitForTerminal(accepted.id, opts.waitMs).then((v) =>
      v && TERMINAL_STATUSES.has(v.status) ? v : accepted,
    );
    outcome.catch(() => undefined);
    return { ...result, outcome };
  }

  private async accept(req: SubmitRequest): Promise<SubmitResult> {
    this.check();
    if (this.submitBug) throw this.submitBug;
    const scopedKey = req.idempotencyKey === undefined ? undefined : `${req.app}\n${req.idempotencyKey}`;
    if (scopedKey !== undefined) {
      const existing = this.byIdempotencyKey.get(scopedKey);
      if (existing !== undefined) {
        if (existing[1] !== submitFingerprint(req)) {
          throw new IdempotencyKeyReusedError('this Idempotency-Key was used with another request', existing[0]);
        }
        return { view: this.messages.get(existing[0])!, duplicate: true };
      }
    }
    this.submitted.push(req);
    const id = `msg_${this.nextId++}`;
    const now = new Date().toISOString();
    const scheduled = req.sendAt !== undefined && req.sendAt > Date.now();
    const view: MessageView = {
      id,
      status: scheduled ? 'scheduled' : 'queued',
      from: req.from,
      to: req.to,
      priority: req.priority,
      msg_id: null,
      attempts: 0,
      created_at: now,
      updated_at: now,
      send_at: req.sendAt === undefined ? null : new Date(req.sendAt).toISOString(),
      deadline: req.deadline === undefined ? null : new Date(req.deadline).toISOString(),
      sent_at: null,
      error: null,
      metadata: req.metadata ?? null,
      ...(req.withParts && { parts: splitParts(req.text) }),
    };
    this.messages.set(id, view);
    this.owners.set(id, { app: req.app, key: req.key ?? null });
    if (scopedKey !== undefined) this.byIdempotencyKey.set(scopedKey, [id, submitFingerprint(req)]);
    const plan = this.plan;
    if (plan.kind === 'sending') this.update(id, 'sending', { attempts: 1 });
    if (plan.kind === 'sent') {
      this.later(plan.afterMs, () =>
        this.update(id, 'sent', { msg_id: plan.msgId, attempts: 1, sent_at: new Date().toISOString() }),
      );
    }
    if (plan.kind === 'failed') {
      this.later(plan.afterMs, () =>
        this.update(id, 'failed', { attempts: 1, error: { code: plan.code, message: `failed: ${plan.code}` } }),
      );
    }
    this.afterSubmit?.();
    return { view, duplicate: false };
  }

  async get(id: string): Promise<MessageView | null> {
    this.check();
    return this.messages.get(id) ?? null;
  }

  /** Newest first by creation, with the same filters as the Redis list; the cursor is an offset into the result. */
  async list(q: ListQuery): Promise<ListPage> {
    this.check();
    const all = [...this.messages.values()]
      .map((view) => ({ view, owner: this.owners.get(view.id)! }))
      .filter(({ view, owner }) => {
        if ('app' in q.scope && (owner.app !== q.scope.app || (q.scope.key !== undefined && owner.key !== q.scope.key)))
          return false;
        if (q.statuses && !q.statuses.has(view.status)) return false;
        if (q.from !== undefined && view.from !== q.from) return false;
        if (q.toUser !== undefined && !('user' in view.to && view.to.user === q.toUser)) return false;
        if (q.toGroup !== undefined && !('group' in view.to && view.to.group === q.toGroup)) return false;
        const at = Date.parse(view.created_at);
        return !(q.since !== undefined && at < q.since) && !(q.until !== undefined && at >= q.until);
      })
      .reverse();
    const start = q.after ? all.findIndex(({ view }) => view.id === q.after!.id) + 1 : 0;
    const page = all.slice(start, start + q.limit);
    const last = page.at(-1);
    return {
      messages: page.map(({ view, owner }) => ({ view, app: owner.app })),
      next: last && start + q.limit < all.length ? { at: Date.parse(last.view.created_at), id: last.view.id } : null,
    };
  }

  async owner(id: string): Promise<Owner | null> {
    this.check();
    return this.owners.get(id) ?? null;
  }

  async cancel(id: string): Promise<CancelResult> {
    this.check();
    this.cancelCalls.push(id);
    const view = this.messages.get(id);
    if (!view) return { ok: false, reason: 'not_found' };
    if (view.status !== 'queued' && view.status !== 'scheduled') return { ok: false, reason: 'not_cancellable', view };
    this.update(id, 'cancelled');
    return { ok: true, view: this.messages.get(id)! };
  }

  async waitForTerminal(id: string, timeoutMs: number): Promise<MessageView | null> {
    this.check();
    const view = this.messages.get(id);
    if (!view) return null;
    if (TERMINAL_STATUSES.has(view.status)) return view;
    return new Promise((resolve) => {
      const set = this.waiters.get(id) ?? new Set<() => void>();
      this.waiters.set(id, set);
      const t = setTimeout(() => {
        this.timers.delete(t);
        set.delete(wake);
        resolve(this.messages.get(id) ?? null);
      }, timeoutMs);
      this.timers.add(t);
      const wake = (): void => {
        clearTimeout(t);
        this.timers.delete(t);
        resolve(this.messages.get(id) ?? null);
      };
      set.add(wake);
    });
  }

  async health(): Promise<HealthReport> {
    this.check();
    return this.healthReport;
  }

  async queueDepth(): Promise<number> {
    this.check();
    return [...this.messages.values()].filter((m) => !TERMINAL_STATUSES.has(m.status)).length;
  }

  view(id: string): MessageView | undefined {
    return this.messages.get(id);
  }

  /** Clears every timer and wakes every waiter, so a test leaves nothing behind. */
  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const set of this.waiters.values()) for (const wake of set) wake();
    this.waiters.clear();
  }
}
