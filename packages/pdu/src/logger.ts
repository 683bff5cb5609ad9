/**
 * The smallest logger interface the wire layer needs: pino's `(obj, msg)` call shape, so a pino
 * logger (or a child of one) can be passed as is.
 */
export interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  /** pino's check; when present it decides whether per-message debug lines are built at all. */
  isLevelEnabled?(level: string): boolean;
}

const noop = (): void => {};

/** The default: logs nothing. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/** Whether debug lines are worth building: per-message logs are skipped entirely when silent. */
export function debugEnabled(logger: Logger): boolean {
  if (logger === silentLogger) return false;
  return logger.isLevelEnabled ? logger.isLevelEnabled('debug') : true;
}
