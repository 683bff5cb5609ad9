/**
 * Runs a request schema and turns its first refusal into our ApiError. The schema decides what passes;
 * the wording comes from the field's explainer (the checks of validation.ts), which re-reads the refused
 * field and throws the sentence our callers have always had, naming the field and the fix. A field the
 * explainer lets through (a schema stricter than its explainer) still gets a 400, in zod's words.
 */
import type { z } from 'zod';
import { ApiError } from './errors.ts';

/** Throws the ApiError for a refused value of one top-level field. */
export type FieldExplainer = (value: unknown) => void;

export interface Explainers {
  /** One per top-level field of the schema. */
  fields: Readonly<Record<string, FieldExplainer>>;
  /** The refusal of a top-level field the schema does not know. */
  unknown: (key: string) => ApiError;
}

function pathText(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

/**
 * The issue our callers hear about first: an unknown top-level field, else the first field in the schema's
 * order (the order fields were always checked in).
 */
export function firstIssue(issues: readonly z.core.$ZodIssue[], order: readonly string[]): z.core.$ZodIssue {
  const rank = (i: z.core.$ZodIssue): number => {
    if (i.path.length === 0) return i.code === 'unrecognized_keys' ? -1 : order.length;
    const at = order.indexOf(String(i.path[0]));
    return at === -1 ? order.length : at;
  };
  return [...issues].sort((a, b) => rank(a) - rank(b))[0]!;
}

/** `body` is a plain object; answers the schema's output, or throws the ApiError of its first issue. */
export function checkObject<S extends z.ZodObject>(
  schema: S,
  body: Record<string, unknown>,
  explain: Explainers,
): z.output<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = firstIssue(parsed.error.issues, Object.keys(schema.shape));
  if (issue.path.length === 0 && issue.code === 'unrecognized_keys') throw explain.unknown(issue.keys[0]!);
  const field = issue.path.length > 0 ? String(issue.path[0]) : undefined;
  if (field !== undefined) explain.fields[field]?.(body[field]);
  const at = pathText(issue.path);
  throw new ApiError(
    'invalid_field',
    `${at || 'the body'} is refused (${issue.message}): see /docs for its form`,
    at || null,
  );
}

/** A value that is not an object with fields (a union such as a recipient): `explain` re-reads the whole value. */
export function checkWith<S extends z.ZodType>(
  schema: S,
  value: unknown,
  explain: FieldExplainer,
  prefix: string,
): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  explain(value);
  const issue = parsed.error.issues[0]!;
  const at = [prefix, pathText(issue.path)].filter(Boolean).join('.');
  throw new ApiError(
    'invalid_field',
    `${at || 'the value'} is refused (${issue.message}): see /docs for its form`,
    at || null,
  );
}

/** One value (a query parameter, a path parameter, a header) against its schema; `refuse` words the 400. */
export function checkValue<S extends z.ZodType>(schema: S, value: unknown, refuse: () => ApiError): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw refuse();
  return parsed.data;
}
