/**
 * The small argument parser every command shares: node:util parseArgs in strict mode (unknown flags
 * refused, with the closest valid flags suggested), plus value parsers that name the flag in their error.
 * A command catches {@link UsageError}, prints it with its usage text on stderr and exits 2.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
type StrictConfig<O extends OptionsConfig> = { args: string[]; options: O; strict: true; allowPositionals: false };
type PositionalsConfig<O extends OptionsConfig> = {
  args: string[];
  options: O;
  strict: true;
  allowPositionals: true;
};
/** The parsed flag values of an options table, typed by parseArgs itself. */
export type ParsedValues<O extends OptionsConfig> = ReturnType<typeof parseArgs<StrictConfig<O>>>['values'];
/** Flag values and positionals of a command that takes arguments besides its flags. */
export type ParsedLine<O extends OptionsConfig> = ReturnType<typeof parseArgs<PositionalsConfig<O>>>;

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
    throw parseArgsError(err, options);
  }
}

/** As {@link parseFlags}, for a command that also takes arguments (a TEXT, a subcommand, an id). */
export function parseLine<const O extends OptionsConfig>(argv: string[], options: O): ParsedLine<O> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw parseArgsError(err, options);
  }
}

/** Edit distance (insertions, deletions, substitutions, swaps of neighbours) between two short strings. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The valid names closest to `word`: those it begins (or that begin it), else those within a few edits,
 * nearest first. Empty when nothing is close.
 */
export function closest(word: string, names: readonly string[]): string[] {
  const w = word.toLowerCase();
  if (w === '') return [];
  const prefixed = names.filter((n) => n.startsWith(w) || (w.length >= 3 && w.startsWith(n)));
  if (prefixed.length > 0) return prefixed.slice(0, 3);
  const limit = Math.max(1, Math.min(3, Math.ceil(w.length / 3)));
  return names
    .map((n) => ({ n, d: distance(w, n) }))
    .filter((x) => x.d <= limit)
    .sort((x, y) => x.d - y.d)
    .slice(0, 3)
    .map((x) => x.n);
}

/** "a", "a or b", "a, b or c". */
export function orList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)!}`;
}

/** "did you mean X?" for `word` among `names` (each shown through `show`), or '' when nothing is close. */
export function didYouMean(word: string, names: readonly string[], show = (n: string) => n): string {
  const near = closest(word, names);
  return near.length === 0 ? '' : `: did you mean ${orList(near.map(show))}?`;
}

/** parseArgs's own errors, said our way: an unknown flag with the closest valid ones, a missing value. */
function parseArgsError(err: unknown, options: OptionsConfig): UsageError {
  const e = err as Error & { code?: string };
  const quoted = /'([^']+)'/.exec(e.message)?.[1] ?? '';
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = quoted.split('=')[0]!;
    const long = Object.keys(options);
    if (flag.startsWith('--')) {
      return new UsageError(`unknown option ${flag}${didYouMean(flag.slice(2), long, (n) => `--${n}`)}`);
    }
    const letter = flag.slice(1);
    const short = Object.entries(options).filter(([, o]) => o.short !== undefined);
    const same = long.filter((n) => n.startsWith(letter));
    const hint = same.length > 0 ? `: did you mean ${orList(same.slice(0, 3).map((n) => `--${n}`))}?` : '';
    const known = short.length > 0 ? ` (short options: ${short.map(([, o]) => `-${o.short}`).join(' ')})` : '';
    return new UsageError(`unknown option ${flag}${hint || known}`);
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const flag = /--[\w-]+/.exec(quoted)?.[0] ?? quoted;
    if (/does not take an argument/.test(e.message)) return new UsageError(`${flag} takes no value`);
    return new UsageError(`${flag} needs a value`);
  }
  if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    return new UsageError(`unexpected argument '${quoted}': this command takes only options`);
  }
  return new UsageError(e.message);
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
