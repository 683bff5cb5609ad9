/**
 * Shared boot steps of the long-running commands: configuration (a bad value stops the process with a
 * message naming it) and signal handling (first SIGTERM/SIGINT drains, a second forces).
 */
import { ConfigError, loadConfig, type Config } from '@ttpush/config';

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

/** Runs `stop` on the first SIGTERM/SIGINT; a second signal exits at once. Resolves when stopped. */
export function onShutdown(stop: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const handler = (signal: NodeJS.Signals) => {
      if (stopping) {
        console.error(`ttpush: ${signal} again: exiting now`);
        process.exit(1);
      }
      stopping = true;
      stop().then(resolve, (err: unknown) => {
        console.error(`ttpush: shutdown failed: ${(err as Error).message}`);
        resolve();
      });
    };
    process.on('SIGTERM', handler);
    process.on('SIGINT', handler);
  });
}
