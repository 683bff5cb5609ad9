/**
 * The compact text forms of a batch's chunks and results in Redis, and of results cursors.
 *
 * Chunk (P:b:{id}:c:n): a JSON array of recipients, `[1, <user id>]` or `[2, <group id>]`, with the
 * recipient's own text as a third element when it has one: `[[1,2],[2,7],[1,3,"per-recipient text"]]`.
 *
 * Results (P:b:{id}:r:n, and the partial results of a send state): a JSON array parallel to the chunk,
 * `[1, <msg_id>]` sent, `[2, "<failure code>"]` failed, `[3]` cancelled, `null` not known yet (partial
 * results only). The single string `C` stands for "every recipient of the chunk cancelled" (written by
 * a cancel for a chunk that never started).
 */
import type { Recipient } from '@ttpush/contract';
import type { BatchRecipient } from '@ttpush/contract';
import { BatchCursorError } from '@ttpush/contract';

export const RECIPIENT_USER = 1;
export const RECIPIENT_GROUP = 2;

export const RESULT_NONE = 0;
export const RESULT_SENT = 1;
export const RESULT_FAILED = 2;
export const RESULT_CANCELLED = 3;
export type ResultCode = typeof RESULT_NONE | typeof RESULT_SENT | typeof RESULT_FAILED | typeof RESULT_CANCELLED;

/** The results text of a chunk cancelled before it started. */
export const ALL_CANCELLED = 'C';

/** One recipient's element of a chunk's JSON array. */
export function encodeRecipient(r: BatchRecipient): string {
  const head = 'user' in r.to ? `[${RECIPIENT_USER},${r.to.user}` : `[${RECIPIENT_GROUP},${r.to.group}`;
  return r.text === undefined ? `${head}]` : `${head},${JSON.stringify(r.text)}]`;
}

export interface DecodedChunk {
  to: Recipient[];
  /** The recipient's own text, or undefined for the batch content. */
  texts: (string | undefined)[];
}

export class BatchDataError extends Error {
  override readonly name = 'BatchDataError';
  readonly code = 'batch_data_invalid';
}

export function decodeChunk(json: string): DecodedChunk {
  return decodePlainChunk(json) ?? decodeChunkJson(json);
}

const OPEN = 0x5b; // [
const CLOSE = 0x5d; // ]
const COMMA = 0x2c;
const ZERO = 0x30;
const NINE = 0x39;

/**
 * A chunk of recipients without texts of their own, exactly as encodeRecipient writes it (`[[1,2],[2,7]]`), read
 * without building an array per recipient; undefined for anything else (then JSON.parse decides).
 */
function decodePlainChunk(json: string): DecodedChunk | undefined {
  const end = json.length;
  if (end < 2 || json.charCodeAt(0) !== OPEN || json.charCodeAt(end - 1) !== CLOSE) return undefined;
  const to: Recipient[] = [];
  let at = 1;
  if (end === 2) return { to, texts: [] };
  for (;;) {
    // [<kind>,<id>]
    if (json.charCodeAt(at) !== OPEN) return undefined;
    const kind = json.charCodeAt(at + 1) - ZERO;
    if ((kind !== RECIPIENT_USER && kind !== RECIPIENT_GROUP) || json.charCodeAt(at + 2) !== COMMA) return undefined;
    at += 3;
    const first = at;
    let id = 0;
    for (let c = json.charCodeAt(at); c >= ZERO && c <= NINE; c = json.charCodeAt(++at)) id = id * 10 + (c - ZERO);
    // Digits as JSON writes an integer, exact as a double: one to fifteen, no leading zero but for 0 itself.
    if (at === first || at - first > 15 || (at - first > 1 && json.charCodeAt(first) === ZERO)) return undefined;
    if (json.charCodeAt(at) !== CLOSE) return undefined;
    to.push(kind === RECIPIENT_USER ? { user: id } : { group: id });
    at++;
    const c = json.charCodeAt(at);
    if (c === COMMA) at++;
    else if (c === CLOSE && at === end - 1) break;
    else return undefined;
  }
  return { to, texts: new Array<string | undefined>(to.length).fill(undefined) };
}

function decodeChunkJson(json: string): DecodedChunk {
  const raw: unknown = JSON.parse(json);
  if (!Array.isArray(raw)) throw new BatchDataError('a chunk is not a JSON array');
  const to: Recipient[] = new Array(raw.length);
  const texts: (string | undefined)[] = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const e: unknown = raw[i];
    if (!Array.isArray(e) || typeof e[1] !== 'number') throw new BatchDataError(`chunk element ${i} is malformed`);
    if (e[0] === RECIPIENT_USER) to[i] = { user: e[1] };
    else if (e[0] === RECIPIENT_GROUP) to[i] = { group: e[1] };
    else throw new BatchDataError(`chunk element ${i} has an unknown recipient type`);
    texts[i] = typeof e[2] === 'string' ? e[2] : undefined;
  }
  return { to, texts };
}

/** Outcomes of a chunk's recipients: a state per recipient and, for sent/failed, its msg_id or code. */
export class ChunkResults {
  readonly states: Uint8Array;
  readonly values: (number | string | undefined)[];

  constructor(readonly size: number) {
    this.states = new Uint8Array(size);
    this.values = new Array<number | string | undefined>(size);
  }

  sent(i: number, msgId: number): void {
    this.states[i] = RESULT_SENT;
    this.values[i] = msgId;
  }

  failed(i: number, code: string): void {
    this.states[i] = RESULT_FAILED;
    this.values[i] = code;
  }

  cancelled(i: number): void {
    this.states[i] = RESULT_CANCELLED;
    this.values[i] = undefined;
  }

  /** The JSON text; with `partial`, unknown outcomes are null (otherwise none may be left). */
  encode(partial = false): string {
    const parts: string[] = new Array(this.size);
    for (let i = 0; i < this.size; i++) {
      switch (this.states[i]) {
        case RESULT_SENT:
          parts[i] = `[1,${this.values[i] as number}]`;
          break;
        case RESULT_FAILED:
          parts[i] = `[2,${JSON.stringify(this.values[i])}]`;
          break;
        case RESULT_CANCELLED:
          parts[i] = '[3]';
          break;
        default:
          if (!partial) throw new BatchDataError(`recipient ${i} of a finished chunk has no outcome`);
          parts[i] = 'null';
      }
    }
    return `[${parts.join(',')}]`;
  }

  /** Parses a results text (full, partial, or ALL_CANCELLED) of a chunk of `size` recipients. */
  static decode(text: string, size: number): ChunkResults {
    const r = new ChunkResults(size);
    if (text === ALL_CANCELLED) {
      r.states.fill(RESULT_CANCELLED);
      return r;
    }
    const raw: unknown = JSON.parse(text);
    if (!Array.isArray(raw) || raw.length !== size) throw new BatchDataError('results do not match their chunk');
    for (let i = 0; i < size; i++) {
      const e: unknown = raw[i];
      if (e === null) continue;
      if (!Array.isArray(e)) throw new BatchDataError(`result ${i} is malformed`);
      if (e[0] === RESULT_SENT && typeof e[1] === 'number') r.sent(i, e[1]);
      else if (e[0] === RESULT_FAILED && typeof e[1] === 'string') r.failed(i, e[1]);
      else if (e[0] === RESULT_CANCELLED) r.cancelled(i);
      else throw new BatchDataError(`result ${i} is malformed`);
    }
    return r;
  }
}

/** Where a results page starts: a recipient of a chunk, or a refused input. */
export type BatchCursor = { part: 'chunk'; chunk: number; index: number } | { part: 'rejected'; index: number };

export function encodeCursor(c: BatchCursor): string {
  return c.part === 'chunk' ? `c${c.chunk}.${c.index}` : `r${c.index}`;
}

const CURSOR = /^(?:c(\d{1,9})\.(\d{1,9})|r(\d{1,9}))$/;

export function parseCursor(text: string | undefined): BatchCursor {
  if (text === undefined || text === '') return { part: 'chunk', chunk: 0, index: 0 };
  const m = CURSOR.exec(text);
  if (!m) throw new BatchCursorError(`cursor ${JSON.stringify(text)} was not handed out by this API`);
  if (m[3] !== undefined) return { part: 'rejected', index: Number(m[3]) };
  return { part: 'chunk', chunk: Number(m[1]), index: Number(m[2]) };
}
