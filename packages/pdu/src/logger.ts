/**
 * The smallest logger interface the wire layer needs: pino's `(obj, msg)` call shape, so a pino
 * logger (or a child of one) can be passed as is.
 */
export interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const noop = (): void => {};

/** The default: logs nothing. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };
