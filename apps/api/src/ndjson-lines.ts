/**
 * Splits an NDJSON body into lines as its chunks arrive, never holding more than one line: `push(chunk)`
 * keeps the unfinished tail and returns the whole lines, `end()` returns a last line without a newline.
 * A line longer than `maxLineBytes` is skipped as it streams (reported, never buffered), and a line that
 * is not UTF-8 is reported rather than decoded with replacement characters. Lines are numbered from 1;
 * a trailing CR (CRLF line ends) and a UTF-8 BOM before the first line are dropped.
 *
 * A line that is exactly `{"user":N}` or `{"group":N}` (N written as JSON.stringify writes an id from 1 to
 * 4294967295: digits only, no leading zero) is read from its bytes, not decoded: it comes out as its recipient,
 * the form nearly every line of a large upload takes. Its text is lineText(line), the same bytes as a string.
 */
import { isUtf8 } from 'node:buffer';
import type { Recipient } from '@ttpush/contract';

export type NdjsonLine =
  | { number: number; text: string }
  | { number: number; text: null; problem: 'too_long' | 'invalid_utf8' }
  | { number: number; text: null; recipient: Recipient };

/** The line's text (a recipient line's rebuilt: its exact bytes), or null when it could not be read. */
export function lineText(line: NdjsonLine): string | null {
  if (line.text !== null) return line.text;
  if (!('recipient' in line)) return null;
  const to = line.recipient;
  return 'user' in to ? `{"user":${to.user}}` : `{"group":${to.group}}`;
}

const USER_PREFIX = Buffer.from('{"user":');
const GROUP_PREFIX = Buffer.from('{"group":');
const CLOSE = 0x7d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const MAX_ID = 4294967295;

function startsWith(bytes: Buffer, from: number, to: number, prefix: Buffer): boolean {
  if (to - from < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[from + i] !== prefix[i]) return false;
  return true;
}

/** The recipient the line bytes[from..to) is exactly, or undefined (then it is decoded and checked as any line). */
function exactRecipient(bytes: Buffer, from: number, to: number): Recipient | undefined {
  const user = startsWith(bytes, from, to, USER_PREFIX);
  if (!user && !startsWith(bytes, from, to, GROUP_PREFIX)) return undefined;
  const first = from + (user ? USER_PREFIX.length : GROUP_PREFIX.length);
  const end = to - 1;
  const digits = end - first;
  if (digits < 1 || digits > 10 || bytes[end] !== CLOSE || bytes[first] === DIGIT_0) return undefined;
  let id = 0;
  for (let i = first; i < end; i++) {
    const c = bytes[i]!;
    if (c < DIGIT_0 || c > DIGIT_9) return undefined;
    id = id * 10 + (c - DIGIT_0);
  }
  if (id > MAX_ID) return undefined;
  return user ? { user: id } : { group: id };
}

const NL = 0x0a;
const CR = 0x0d;

export class NdjsonLineSplitter {
  private parts: Buffer[] = [];
  private partBytes = 0;
  private overlong = false;
  private lineNo = 0;

  constructor(readonly maxLineBytes: number) {}

  /** Lines numbered so far. */
  get lines(): number {
    return this.lineNo;
  }

  push(chunk: Buffer): NdjsonLine[] {
    const out: NdjsonLine[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NL, start);
      if (nl === -1) {
        this.keep(chunk, start, chunk.length);
        return out;
      }
      out.push(this.line(chunk, start, nl));
      start = nl + 1;
    }
  }

  end(): NdjsonLine[] {
    if (this.partBytes === 0 && !this.overlong) return [];
    return [this.line(Buffer.alloc(0), 0, 0)];
  }

  private keep(chunk: Buffer, start: number, end: number): void {
    const len = end - start;
    if (len === 0 || this.overlong) return;
    if (this.partBytes + len > this.maxLineBytes) {
      this.overlong = true;
      this.parts = [];
      this.partBytes = 0;
      return;
    }
    this.parts.push(chunk.subarray(start, end));
    this.partBytes += len;
  }

  private line(chunk: Buffer, start: number, end: number): NdjsonLine {
    const number = ++this.lineNo;
    const tooLong = this.overlong || this.partBytes + (end - start) > this.maxLineBytes;
    const parts = this.parts;
    this.parts = [];
    this.partBytes = 0;
    this.overlong = false;
    if (tooLong) return { number, text: null, problem: 'too_long' };
    let buf = chunk;
    let from = start;
    let to = end;
    if (parts.length > 0) {
      buf = Buffer.concat([...parts, chunk.subarray(start, end)]);
      from = 0;
      to = buf.length;
    }
    if (to > from && buf[to - 1] === CR) to--;
    const recipient = exactRecipient(buf, from, to);
    if (recipient !== undefined) return { number, text: null, recipient };
    const bytes = buf.subarray(from, to);
    if (!isUtf8(bytes)) return { number, text: null, problem: 'invalid_utf8' };
    const text = bytes.toString('utf8');
    return { number, text: number === 1 && text.startsWith('\ufeff') ? text.slice(1) : text };
  }
}
