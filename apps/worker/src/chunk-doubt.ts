/**
 * A chunk's messages whose fate is unknown: a store without reply, a connection that died with the store in flight,
 * or a previous attempt that may have sent them. The rule of the lanes (lane-processor.ts), for a whole chunk:
 *
 * - a group send db_proxy left unanswered is first checked with the group query: an unknown group or a sender who
 *   is not a member is db_proxy's deliberate silence (notes §6), a failure with its cause;
 * - everything else is read back; found: sent. Absent: it may still be stored late (a slow db_proxy thread, a
 *   stalled server), so it waits until db_proxy settled (every server that had one answers a request sent
 *   `settleMs` after the last silence) and is read back a second time; absent again: sent again.
 */
import { ConnectionError } from '@ttpush/pdu';
import type { FailureCode } from '@ttpush/contract';
import type { TeamTalk } from './teamtalk.ts';
import type { ChunkSender, ChunkTarget } from './chunk-sender.ts';
import type { DbProxyHealth } from './db-proxy-health.ts';

/** Silences of one send round: which recipients, on which servers. */
export interface Silences {
  /** Written, no reply in time. */
  noReply: number[];
  /** The connection died with the store in flight. */
  uncertain: number[];
  /** The servers that had them (`host:port`). */
  addresses: ReadonlySet<string>;
  /** Some server answered other requests while it left one of these unanswered. */
  alive: boolean;
}

export class ChunkDoubt {
  /** To read back (first time). */
  private unread: number[] = [];
  /** Read back absent once: read back again once db_proxy settled. */
  private settling: number[] = [];
  private settleFrom = 0;
  /** The servers to hear from before the second read; undefined: any (after a previous attempt). */
  private readonly addresses = new Set<string | undefined>();
  /** Some silence was of a live server: the failure code at the age limit is teamtalk_no_reply. */
  alive = false;

  constructor(
    private readonly tt: TeamTalk,
    private readonly sender: ChunkSender,
    private readonly settleMs: number,
    private readonly health?: DbProxyHealth,
  ) {}

  get empty(): boolean {
    return this.unread.length === 0 && this.settling.length === 0;
  }

  /** Every recipient still in doubt. */
  all(): number[] {
    return this.unread.concat(this.settling);
  }

  clear(): void {
    this.unread = [];
    this.settling = [];
    this.addresses.clear();
  }

  /** Recipients a previous attempt may have sent, at an unknown time. */
  recover(indices: readonly number[]): void {
    if (indices.length === 0) return;
    this.unread.push(...indices);
    this.addresses.add(undefined);
    this.settleFrom = Math.max(this.settleFrom, Date.now() + this.settleMs);
  }

  /**
   * Takes a round's silences; answers the deliberate ones (their recipient and failure code), which are not in
   * doubt: db_proxy refuses those before storing anything.
   */
  async add(t: ChunkTarget, s: Silences): Promise<[number, FailureCode][]> {
    if (s.noReply.length === 0 && s.uncertain.length === 0) return [];
    const refused: [number, FailureCode][] = [];
    const refusals = new Map<number, Promise<FailureCode | null>>();
    const refusalOf = (group: number) => {
      let r = refusals.get(group);
      if (!r) {
        r = this.tt.groupRefusal(t.from, group).catch(() => null);
        refusals.set(group, r);
      }
      return r;
    };
    for (const i of s.noReply) {
      const to = t.to[i]!;
      const refusal = 'group' in to ? await refusalOf(to.group) : null;
      if (refusal === null) {
        this.unread.push(i);
        continue;
      }
      refused.push([i, refusal]);
      // Its server left it unanswered on purpose: not a sign of a parked thread.
      if (s.alive && s.addresses.size === 1) for (const address of s.addresses) this.health?.explained(address);
    }
    this.unread.push(...s.uncertain);
    for (const address of s.addresses) this.addresses.add(address);
    if (s.addresses.size === 0) this.addresses.add(undefined);
    if (s.alive) this.alive = true;
    this.settleFrom = Math.max(this.settleFrom, Date.now() + this.settleMs);
    return refused;
  }

  /** Reads back and settles what it can now; answers the recipients certainly not stored (to send again). */
  async step(t: ChunkTarget): Promise<number[]> {
    if (this.unread.length > 0) {
      const rb = await this.sender.readBack(t, this.unread);
      this.settling.push(...rb.missing);
      this.unread = rb.unknown;
    }
    if (this.settling.length === 0 || Date.now() < this.settleFrom || !(await this.settled(t))) return [];
    const rb = await this.sender.readBack(t, this.settling);
    this.settling = rb.unknown;
    if (this.settling.length === 0 && this.unread.length === 0) this.addresses.clear();
    return rb.missing;
  }

  /** How long to wait before step() can make progress (0: now, after a backoff chosen by the caller). */
  waitMs(): number {
    if (this.unread.length > 0) return 0;
    return Math.max(0, this.settleFrom - Date.now());
  }

  /** Whether every server that had a silent request answered one sent now. */
  private async settled(t: ChunkTarget): Promise<boolean> {
    const to = t.to[this.settling[0]!]!;
    const checks = [...this.addresses].map(async (address) => {
      try {
        await this.tt.probe(address, t.from, to);
        return true;
      } catch (err) {
        // A server unreachable for the whole settle time has nothing left to store.
        return (
          address !== undefined &&
          err instanceof ConnectionError &&
          this.tt.db.unreachableForMs(address) >= this.settleMs
        );
      }
    });
    return (await Promise.all(checks)).every(Boolean);
  }
}
