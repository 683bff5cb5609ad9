/**
 * This worker's share of TTPUSH_TEAMTALK_MAX_IN_FLIGHT_TOTAL: a semaphore around every db_proxy request
 * (store and read-back), sized floor(total / live workers), live workers counted from the heartbeat
 * registry (P:workers, as the API's health report counts them) once a second.
 *
 * Never over the total when a worker joins: the newcomer counts itself (its heartbeat is registered
 * before it reads the count) and keeps a share of 0 until the others have had two refresh periods to see
 * it and shrink theirs. A worker that leaves deregisters after its last request ended, so the others may
 * grow their share at once; a worker that died is counted until its heartbeat is LIVE_HEARTBEAT_MS old.
 */
import type { Logger } from 'pino';
import type { WorkerRegistry } from '@ttpush/store';

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

/** Keeps `gate` at this worker's share of `total`, re-read from the registry every second. */
export class InFlightShare {
  private timer: NodeJS.Timeout | undefined;
  private firstSeen: number | undefined;

  constructor(
    private readonly workers: WorkerRegistry,
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
    const { live, registered } = await this.workers.census(this.workerId, now);
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
