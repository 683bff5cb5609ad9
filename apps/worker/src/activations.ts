/**
 * A take job: sends the conversations of one partition's activations list (keys.ts activations, lane-take.lua).
 * Accepts put a conversation there when its lane becomes non-empty, and ask for a job only when the list was empty
 * and no worker was taking it; so under load one job carries a burst of activations instead of one BullMQ job per
 * message (BullMQ's add, move-to-active and move-to-finished cost more than a single send itself).
 *
 * The job takes up to `room` conversations, sends each lane (LaneProcessor) side by side, and takes again whenever a
 * lane finishes or `pollMs` passed, until a take finds the list empty with none of its lanes in flight: that take
 * clears the list's busy mark, so the next accept asks for a new job. (Ending at the first empty take instead would
 * end most jobs between two messages of a steady load, and bring back a job per message.) Each take renews busy for `busyMs`: a job that died, or whose lanes are all slow,
 * stops holding back new jobs once it expires (the reconciler adds one for a list left without a taker). After
 * `maxMs`, or when the worker stops, it lets go and adds a take job for what is left.
 */
import type { Priority } from '@ttpush/contract';
import type { ClaimMark, LaneClaim, LaneStore } from '@ttpush/store';
import type { LaneResult } from './lane-processor.ts';

export interface TakeOptions {
  /** Lanes one job sends at once at most. */
  room: number;
  /** While lanes are in flight, the list is looked at again after this long at the latest. */
  pollMs: number;
  /** How long a take holds back new jobs (busy) without taking again. */
  busyMs: number;
  /**
   * How long one job takes at most: then it lets go and leaves the rest to a new job, which BullMQ orders among the
   * partition's other jobs (higher priorities, batch chunks) as usual, so a long burst does not hold a job slot.
   */
  maxMs: number;
}

export const TAKE_DEFAULTS: TakeOptions = { room: 64, pollMs: 5, busyMs: 2000, maxMs: 250 };

export interface TakeDeps {
  store: Pick<LaneStore, 'take' | 'letGo' | 'takeAndClaim'>;
  /**
   * Sends one conversation's lane (its errors are its own to log: the lane stays listed for the reconciler); `first`:
   * the lane as the take claimed it.
   */
  send: (conv: string, first?: { token: string; claim: LaneClaim }) => Promise<LaneResult>;
  /**
   * When given, each take claims the lanes it takes in the same call (lane-take.lua), with these options and a lock
   * token prefix of its own per take.
   */
  claim?: () => { tokenPrefix: string; lockMs: number; peek: number; mark?: ClaimMark };
  /** True once the worker stops: take nothing more. */
  stopping: () => boolean;
  /** Adds a take job for the list (what a job that let go left in it). */
  requeue: (partition: number, priority: Priority) => Promise<void>;
}

/** Runs one take job; returns how many lanes it sent. */
export async function runTake(
  deps: TakeDeps,
  partition: number,
  priority: Priority,
  opts: TakeOptions = TAKE_DEFAULTS,
): Promise<number> {
  const inFlight = new Set<Promise<unknown>>();
  // Resolves the current wait when a lane finishes.
  let wake: (() => void) | undefined;
  let sent = 0;
  const until = Date.now() + opts.maxMs;
  for (;;) {
    // At least one take per job: a job past its time has taken something.
    if (deps.stopping() || (sent > 0 && Date.now() >= until)) {
      // Busy cleared and the rest handed to a new job at once (another worker's, when stopping), rather than after
      // busy expires.
      if ((await deps.store.letGo(partition, priority)) > 0) await deps.requeue(partition, priority);
      break;
    }
    const room = opts.room - inFlight.size;
    if (room > 0) {
      // Ends only on a take that cleared busy: one asked to keep it (lanes in flight when it left) is followed by
      // another, even if those lanes finished meanwhile; otherwise busy would hold back new jobs with no taker.
      const again = inFlight.size > 0;
      const claim = deps.claim?.();
      const taken: { conv: string; first?: { token: string; claim: LaneClaim } }[] = claim
        ? (await deps.store.takeAndClaim(partition, priority, room, opts.busyMs, again, claim)).taken.map((t) => ({
            conv: t.conv,
            first: t,
          }))
        : (await deps.store.take(partition, priority, room, opts.busyMs, again)).convs.map((conv) => ({ conv }));
      if (taken.length === 0 && !again) break;
      for (const t of taken) {
        sent++;
        const p: Promise<unknown> = deps
          .send(t.conv, t.first)
          .catch(() => undefined)
          .finally(() => {
            inFlight.delete(p);
            wake?.();
          });
        inFlight.add(p);
      }
    }
    if (inFlight.size === 0) continue;
    // Full: until a lane finishes. Otherwise that or pollMs, whichever comes first.
    await new Promise<void>((resolve) => {
      const timer = inFlight.size < opts.room ? setTimeout(resolve, opts.pollMs) : undefined;
      wake = () => {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      };
    });
  }
  await Promise.allSettled(inFlight);
  return sent;
}
