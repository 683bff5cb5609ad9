/**
 * This worker's share of TTPUSH_TEAMTALK_MAX_IN_FLIGHT_TOTAL: a semaphore around every db_proxy request
 * (store and read-back), sized floor(total / live workers), live workers counted from the heartbeat
 * registry (P:workers, as the API's health report counts them) once a second.
 *
 * Never over the total when a worker joins: the newcomer counts itself (its heartbeat is registered
 * before it reads the count) and keeps a share of 0 until the others have had two refresh periods to see
 * it and shrink theirs. A worker that leaves deregisters after its last request ended, so the others may
 * grow their share at once; a worker that died is counted until its heartbeat is LIVE_WORKER_MS old.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** How long a worker is counted after its last heartbeat (the API's health report uses the same). */
export const LIVE_WORKER_MS = 15_000;
const REFRESH_MS = 1000;
/** A newcomer waits this long after first seeing itself registered: others refresh every REFRESH_MS. */
const JOIN_GRACE_MS = 2 * REFRESH_MS + 500;

/** A counting semaphore whose capacity may change; a smaller capacity holds new requests until enough end. */
export class InFlightGate {
  private used = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(private capacity: number) {}

  get size(): number {
    return this.capacity;
  }

  get inFlight(): number {
    return this.used;
  }

  /** Undefined when a place was free (now taken), else a promise that resolves once one is handed over. */
  acquire(): Promise<void> | undefined {
    if (this.used < this.capacity && this.waiters.length === 0) {
      this.used++;
      return undefined;
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    this.used--;
    this.wake();
  }

  setCapacity(n: number): void {
    this.capacity = n;
    this.wake();
  }

  private wake(): void {
    while (this.used < this.capacity && this.waiters.length > 0) {
      this.used++;
      this.waiters.shift()!();
    }
  }

  /** Runs `fn` holding a place. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const wait = this.acquire();
    if (wait === undefined) return fn().finally(() => this.release());
    return wait.then(() => fn().finally(() => this.release()));
  }
}

/** Keeps `gate` at this worker's share of `total`, re-read from Redis every second. */
export class InFlightShare {
  private timer: NodeJS.Timeout | undefined;
  private firstSeen: number | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly workersKey: string,
    private readonly workerId: string,
    private readonly total: number,
    readonly gate: InFlightGate,
    private readonly log: Logger,
  ) {}

  start(): void {
    const tick = () => this.refresh().catch((err: unknown) => this.log.debug({ err }, 'in-flight share not read'));
    this.timer = setInterval(tick, REFRESH_MS);
    void tick();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async refresh(now = Date.now()): Promise<void> {
    const rows = await this.redis
      .pipeline()
      .zcount(this.workersKey, now - LIVE_WORKER_MS, '+inf')
      .zscore(this.workersKey, this.workerId)
      .exec();
    if (!rows) return;
    for (const [err] of rows) if (err) throw err;
    const live = Number(rows[0]![1]);
    const registered = rows[1]![1] !== null;
    if (!registered) return;
    this.firstSeen ??= now;
    if (now - this.firstSeen < JOIN_GRACE_MS) return;
    // At least one place, so every worker makes progress: configure a total of at least the worker count.
    const share = Math.max(1, Math.floor(this.total / Math.max(1, live)));
    if (share !== this.gate.size) {
      this.log.debug({ live, share }, 'db_proxy in-flight share changed');
      this.gate.setCapacity(share);
    }
  }
}
