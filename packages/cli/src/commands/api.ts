/** `ttpush api`: one HTTP API process (configuration from TTPUSH_* variables; TTPUSH_REDIS_URL required). */
import { startApi } from '@ttpush/api';
import { createLogger } from '@ttpush/config';
import { bootConfig, leaveTerminalSignalsToStart, onShutdown } from '../boot.ts';

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    console.log(
      'usage: ttpush api\n\nRuns one API process. Configure it with TTPUSH_* variables (see README); TTPUSH_REDIS_URL is required.',
    );
    return 0;
  }
  leaveTerminalSignalsToStart();
  const config = bootConfig();
  if (!config) return 2;
  if (config.embedded.redis) {
    console.error(
      'ttpush api: TTPUSH_REDIS_URL is not set: point it (or TTPUSH_REDIS_CLUSTER_NODES) at Redis, or use `ttpush start` for the embedded setup',
    );
    return 2;
  }
  const logger = createLogger(config.logLevel, 'ttpush-api', config.logFormat);
  let api;
  try {
    api = await startApi(config, logger);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') {
      console.error(
        `ttpush api: port ${config.http.port} on ${config.http.host} is busy: set TTPUSH_HTTP_PORT to a free port`,
      );
      return 2;
    }
    throw err;
  }
  await onShutdown(() => api.close());
  return 0;
}
