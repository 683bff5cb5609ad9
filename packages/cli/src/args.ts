/**
 * The small argument parser every command shares: node:util parseArgs in strict mode (no positionals,
 * unknown flags refused), plus value parsers that name the flag in their error. A command catches
 * {@link UsageError}, prints it with its usage text on stderr and exits 2.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
type StrictConfig<O extends OptionsConfig> = { args: string[]; options: O; strict: true; allowPositionals: false };
/** The parsed flag values of an options table, typed by parseArgs itself. */
export type ParsedValues<O extends OptionsConfig> = ReturnType<typeof parseArgs<StrictConfig<O>>>['values'];

/** Bad command-line arguments: the command prints the message and its usage, and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'CLI_BAD_ARGUMENTS';
}

/** Parses `argv` against `options`; unknown flags, missing values and positionals throw {@link UsageError}. */
export function parseFlags<const O extends OptionsConfig>(argv: string[], options: O): ParsedValues<O> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    // parseArgs reports ERR_PARSE_ARGS_* TypeErrors whose messages already name the flag.
    throw new UsageError((err as Error).message);
  }
}

/** Returns the value of a required string flag, or throws {@link UsageError} naming it. */
export function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new UsageError(`${flag} is required`);
  return value;
}

export interface IntegerRange {
  readonly min?: number;
  readonly max?: number;
}

/** A decimal integer within `range`, or a {@link UsageError} naming the flag. */
export function parseInteger(text: string, flag: string, range: IntegerRange = {}): number {
  const min = range.min ?? Number.MIN_SAFE_INTEGER;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  const value = /^-?\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`${flag} must be an integer from ${min} to ${max}, got '${text}'`);
  }
  return value;
}

/** A TCP port; 0 lets the operating system choose one. */
export function parsePort(text: string, flag: string): number {
  return parseInteger(text, flag, { min: 0, max: 65535 });
}

/** A positive number of seconds (fractions allowed), returned in milliseconds. */
export function parseSeconds(text: string, flag: string): number {
  const value = /^\d+(\.\d+)?$/.test(text.trim()) ? Number(text.trim()) : NaN;
  // setTimeout cannot wait longer than 2^31-1 ms (about 24.8 days).
  if (!(value > 0) || value * 1000 > 2 ** 31 - 1) {
    throw new UsageError(`${flag} must be a positive number of seconds (at most 2147483), got '${text}'`);
  }
  return Math.ceil(value * 1000);
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** `HOST:PORT`, `[IPV6]:PORT`; the port must be 1 to 65535. */
export function parseHostPort(text: string, flag: string): HostPort {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(text.trim());
  if (!match) throw new UsageError(`${flag} must be HOST:PORT (e.g. 127.0.0.1:8000), got '${text}'`);
  const host = match[1] ?? match[2] ?? '';
  const port = parseInteger(match[3] ?? '', `the port of ${flag}`, { min: 1, max: 65535 });
  return { host, port };
}

/** The text a command prints for a usage error: the reason, then its usage. */
export function usageErrorText(command: string, err: UsageError, usage: string): string {
  return `ttpush ${command}: ${err.message}\n\n${usage}\n`;
}
