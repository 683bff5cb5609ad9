/**
 * Shared boot steps of the long-running commands: configuration (a bad value stops the process with a
 * message naming it) and stop requests (the first drains, a later one forces).
 *
 * One stop request can arrive as several signals: the terminal's Ctrl-C reaches every process of its group,
 * and npm (or a parent like `ttpush start`) may forward its own copy. A signal within SAME_REQUEST_MS of the
 * first is the same request; one after that is a second request, and forces.
 *
 * The api and workers `ttpush start` runs are its children over an IPC channel: they leave the terminal's
 * SIGINT and SIGHUP to it (it sends them one SIGTERM to stop, a second to force), and stop by themselves when
 * the channel closes, i.e. when ttpush start is gone however it ended.
 */
import { ConfigError, loadConfig, type Config } from '@ttpush/config';

/** Signals closer than this to the first one are copies of the same stop request. */
export const SAME_REQUEST_MS = 1000;

export function bootConfig(): Config | undefined {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`ttpush: configuration error: ${err.message}`);
      return undefined;
    }
    throw err;
  }
}

/** Whether this process is an api or worker that `ttpush start` runs (it has an IPC channel to it). */
export function managedByStart(): boolean {
  return typeof process.send === 'function';
}

/**
 * Under `ttpush start`, the terminal's Ctrl-C and hang-up are its to act on: ignore them here from the first
 * moment (a Ctrl-C during boot must not kill a child that ttpush start will stop in order).
 */
let leftToStart = false;
export function leaveTerminalSignalsToStart(): void {
  if (leftToStart || !managedByStart()) return;
  leftToStart = true;
  for (const s of ['SIGINT', 'SIGHUP'] as const) process.on(s, () => undefined);
}

export interface StopRequests {
  /** Asks for a stop from within (a parent gone, a child failed): starts one if none runs, never forces. */
  request(reason: string): void;
  /** Whether a stop was asked for. */
  readonly requested: boolean;
}

/**
 * Calls `onStop` on the first stop request (one of `signals`, or request()), and `onForce` on a signal that
 * comes more than SAME_REQUEST_MS after the first.
 */
export function handleStopRequests(
  signals: readonly NodeJS.Signals[],
  onStop: (reason: string) => void,
  onForce: (signal: NodeJS.Signals) => void,
  now: () => number = Date.now,
): StopRequests {
  let firstAt: number | undefined;
  let forced = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (firstAt === undefined) {
      firstAt = now();
      onStop(signal);
    } else if (!forced && now() - firstAt > SAME_REQUEST_MS) {
      forced = true;
      onForce(signal);
    }
  };
  for (const s of signals) process.on(s, onSignal);
  return {
    request(reason) {
      if (firstAt !== undefined) return;
      firstAt = now();
      onStop(reason);
    },
    get requested() {
      return firstAt !== undefined;
    },
  };
}

/**
 * Runs `stop` on the first stop request; a second one (a signal more than SAME_REQUEST_MS later) exits at once.
 * Resolves when stopped. Under `ttpush start`: SIGTERM only (see the top of this file), and the end of the IPC
 * channel is a stop request too.
 */
export function onShutdown(stop: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const managed = managedByStart();
    const requests = handleStopRequests(
      managed ? ['SIGTERM'] : ['SIGTERM', 'SIGINT'],
      (reason) => {
        if (!reason.startsWith('SIG')) console.error(`ttpush: ${reason}: stopping`);
        stop().then(resolve, (err: unknown) => {
          console.error(`ttpush: shutdown failed: ${(err as Error).message}`);
          resolve();
        });
      },
      (signal) => {
        console.error(`ttpush: ${signal} again: exiting now, without waiting for in-flight work`);
        process.exit(1);
      },
    );
    if (managed) {
      leaveTerminalSignalsToStart();
      // The channel must not keep this process alive, only tell it when ttpush start is gone.
      process.channel?.unref();
      if (!process.connected) requests.request('ttpush start is gone');
      else process.once('disconnect', () => requests.request('ttpush start is gone'));
    }
  });
}
