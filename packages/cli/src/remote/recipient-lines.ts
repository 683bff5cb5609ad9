/**
 * Recipients read from a file or stdin: one a line, either an NDJSON recipient object
 * ({"user": 2}, {"group": 7, "content": "..."}) or a bare user id. Blank lines are skipped. The objects
 * are passed on as written: ttpush checks them and names the line of a bad one.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { BatchRecipient } from '@ttpush/client';

/** A line that is neither a JSON object nor a user id. */
export class RecipientLineError extends Error {
  override readonly name = 'RecipientLineError';
  readonly code = 'CLI_BAD_RECIPIENT_LINE';
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

export function parseRecipientLine(text: string, line: number): BatchRecipient | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  if (/^\d{1,15}$/.test(trimmed)) return { user: Number(trimmed) };
  if (trimmed.startsWith('{')) {
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch {
      throw new RecipientLineError(line, 'not valid JSON: write {"user": 2} or a bare user id');
    }
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as BatchRecipient;
  }
  throw new RecipientLineError(line, `'${trimmed.slice(0, 60)}' is neither a user id nor a recipient object`);
}

export async function* recipientLines(input: Readable): AsyncGenerator<BatchRecipient> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const text of lines) {
      n++;
      const recipient = parseRecipientLine(text, n);
      if (recipient !== undefined) yield recipient;
    }
  } finally {
    lines.close();
  }
}

/** A file can be read again, so its upload can be retried: a function that opens it afresh each time. */
export function fileRecipients(path: string): () => AsyncGenerator<BatchRecipient> {
  return () => recipientLines(createReadStream(path));
}
