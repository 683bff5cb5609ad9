/**
 * The logger the sandbox writes to: pino-compatible (`logger.debug(obj, msg)`), silent by default.
 */

export type LogFn = (obj: object, msg?: string) => void;

export interface SandboxLogger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  /** pino's check; when present it decides whether per-message debug logs are built at all. */
  isLevelEnabled?: (level: string) => boolean;
}

const noop: LogFn = () => {};

export const silentLogger: SandboxLogger = { debug: noop, info: noop, warn: noop, error: noop };

/** Whether debug lines are worth building: per-message logs are skipped entirely when silent. */
export function debugEnabled(logger: SandboxLogger): boolean {
  if (logger === silentLogger) return false;
  return logger.isLevelEnabled ? logger.isLevelEnabled('debug') : true;
}
