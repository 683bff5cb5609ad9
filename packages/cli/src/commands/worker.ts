/** `ttpush worker`: one worker process (TTPUSH_REDIS_URL, TTPUSH_DB_PROXY_ADDRS and TTPUSH_ROUTE_ADDRS required). */
import { startWorker } from '@ttpush/worker';
import { createLogger } from '@ttpush/config';
import { bootConfig, leaveTerminalSignalsToStart, onShutdown } from '../boot.ts';

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    console.log(
      'usage: ttpush worker\n\nRuns one worker process. Needs TTPUSH_REDIS_URL, TTPUSH_DB_PROXY_ADDRS and TTPUSH_ROUTE_ADDRS (see README).',
    );
    return 0;
  }
  leaveTerminalSignalsToStart();
  const config = bootConfig();
  if (!config) return 2;
  if (config.embedded.redis || config.embedded.teamtalk) {
    console.error(
      'ttpush worker: set TTPUSH_REDIS_URL, TTPUSH_DB_PROXY_ADDRS and TTPUSH_ROUTE_ADDRS, or use `ttpush start` for the embedded setup',
    );
    return 2;
  }
  const logger = createLogger(config.logLevel, 'ttpush-worker', config.logFormat);
  const worker = await startWorker(config, logger);
  await onShutdown(() => worker.close());
  return 0;
}
