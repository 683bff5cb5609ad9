/**
 * Two properties of a parsed JSON value that the schemas cannot hold, checked in one walk without recursion,
 * before anything recursive (zod, JSON.stringify, a canonical form) touches the value:
 * - depth: JSON.parse builds a value nested thousands deep, and JSON.stringify then overflows the stack;
 * - well-formed Unicode: JSON's `\ud800` escapes decode to lone surrogates, which TeamTalk would get as U+FFFD.
 * Every string is checked, object keys included. Used by the /v1 JSON bodies (json-body.ts), the legacy
 * /query bodies and each line of an NDJSON upload.
 */
import { ApiError } from './errors.ts';

/** Objects and arrays may nest this deep (the body itself is level 1). */
export const MAX_JSON_DEPTH = 32;

export type ShapeProblem = { kind: 'too_deep'; field: string } | { kind: 'not_unicode'; field: string };

/** A lone surrogate: a well-formed pair is one code point under the u flag and does not match. */
const LONE_SURROGATE = /\p{Cs}/u;

interface Frame {
  value: unknown;
  depth: number;
  parent: Frame | null;
  key: string | number | null;
}

function pathOf(frame: Frame, extra?: string): (string | number)[] {
  const out: (string | number)[] = extra === undefined ? [] : [extra];
  for (let f: Frame | null = frame; f !== null && f.key !== null; f = f.parent) out.push(f.key);
  return out.reverse();
}

/** `content`, `metadata.note`, `recipients[3].content`; `prefix` names the value itself (e.g. an array element). */
export function formatPath(path: readonly (string | number)[], prefix = ''): string {
  let out = prefix;
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

/** The field a too-deep value is reported under: its top-level field (and index, in a top-level array). */
function topField(path: readonly (string | number)[]): (string | number)[] {
  const head = path.slice(0, 1);
  if (typeof path[1] === 'number') head.push(path[1]);
  return head;
}

/** The first problem found, or null. A value that is not an object or array is checked alike (a string). */
export function findShapeProblem(root: unknown, maxDepth = MAX_JSON_DEPTH): ShapeProblem | null {
  const stack: Frame[] = [{ value: root, depth: 1, parent: null, key: null }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const v = frame.value;
    if (typeof v === 'string') {
      if (LONE_SURROGATE.test(v)) return { kind: 'not_unicode', field: formatPath(pathOf(frame)) };
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (frame.depth > maxDepth) return { kind: 'too_deep', field: formatPath(topField(pathOf(frame))) };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--)
        stack.push({ value: v[i], depth: frame.depth + 1, parent: frame, key: i });
      continue;
    }
    for (const key of Object.keys(v)) {
      if (LONE_SURROGATE.test(key)) return { kind: 'not_unicode', field: formatPath(pathOf(frame, key)) };
      stack.push({ value: (v as Record<string, unknown>)[key], depth: frame.depth + 1, parent: frame, key });
    }
  }
  return null;
}

/** The 400 invalid_field of a problem; `prefix` goes before the message (e.g. "line 7: "). */
export function shapeError(problem: ShapeProblem, prefix = ''): ApiError {
  const name = problem.field === '' ? 'the body' : problem.field;
  if (problem.kind === 'too_deep') {
    return new ApiError(
      'invalid_field',
      `${prefix}${name} is nested more than ${MAX_JSON_DEPTH} levels deep: flatten it (objects and arrays may nest ${MAX_JSON_DEPTH} levels at most)`,
      problem.field || null,
    );
  }
  return new ApiError(
    'invalid_field',
    `${prefix}${name} is not well-formed Unicode (it holds a lone surrogate, such as "\\ud800" without its pair): send whole characters, as UTF-8 or as a surrogate pair like "\\ud83d\\ude80"`,
    problem.field || null,
  );
}

/** Throws the invalid_field of the first problem of `value`. */
export function assertJsonShape(value: unknown, prefix = ''): void {
  const problem = findShapeProblem(value);
  if (problem !== null) throw shapeError(problem, prefix);
}
