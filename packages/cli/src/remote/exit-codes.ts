/**
 * The exit codes of the commands that call a running ttpush (`send`, `batch`); scripts rely on them,
 * so never renumber them.
 */
import { TtpushError } from '@ttpush/client';

export const EXIT = {
  /** Everything was sent (or, for send without --wait, accepted). */
  ok: 0,
  /** Some or all recipients failed, or the message failed or was cancelled. */
  failed: 1,
  /** Bad flags, no TTPUSH_API_KEY, an unreadable recipients file. */
  usage: 2,
  /** The API refused the request (4xx). */
  refused: 3,
  /** ttpush unreachable, timed out, or failing on its side (5xx). */
  unavailable: 4,
} as const;

/** Prints a client error on stderr and returns its exit code; rethrows anything else. */
export function reportClientError(command: string, err: unknown): number {
  if (!(err instanceof TtpushError)) throw err;
  const field = err.field === null ? '' : ` (field ${err.field})`;
  const status = err.status === 0 ? '' : ` [HTTP ${err.status}]`;
  process.stderr.write(`ttpush ${command}: ${err.code}${status}: ${err.message}${field}\n`);
  return err.unavailable ? EXIT.unavailable : EXIT.refused;
}
