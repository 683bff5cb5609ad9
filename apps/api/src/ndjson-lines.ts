/**
 * Splits an NDJSON body into lines as its chunks arrive, never holding more than one line: `push(chunk)`
 * keeps the unfinished tail and returns the whole lines, `end()` returns a last line without a newline.
 * A line longer than `maxLineBytes` is skipped as it streams (reported, never buffered), and a line that
 * is not UTF-8 is reported rather than decoded with replacement characters. Lines are numbered from 1;
 * a trailing CR (CRLF line ends) and a UTF-8 BOM before the first line are dropped.
 */
import { isUtf8 } from 'node:buffer';

export type NdjsonLine =
  { number: number; text: string } | { number: number; text: null; problem: 'too_long' | 'invalid_utf8' };

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
    const buf = parts.length === 0 ? chunk.subarray(start, end) : Buffer.concat([...parts, chunk.subarray(start, end)]);
    const len = buf.length > 0 && buf[buf.length - 1] === CR ? buf.length - 1 : buf.length;
    const bytes = buf.subarray(0, len);
    if (!isUtf8(bytes)) return { number, text: null, problem: 'invalid_utf8' };
    const text = bytes.toString('utf8');
    return { number, text: number === 1 && text.startsWith('\ufeff') ? text.slice(1) : text };
  }
}
