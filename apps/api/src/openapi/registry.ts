/**
 * The API reference's one source: every route file describes its operations here, with the same zod
 * schemas its validation runs. /openapi.json is generated from this list, and a test fails when an
 * Express route has no operation here (or an operation no route), or when a schema and the
 * validation disagree.
 */
import type { z } from 'zod';
import type { ApiErrorCode } from '../errors.ts';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface BodySpec {
  /** e.g. application/json, application/x-ndjson, application/x-www-form-urlencoded */
  contentType: string;
  schema: z.ZodType;
  description?: string;
  example?: unknown;
  /**
   * A line-per-record body (NDJSON): the schema of each line, and of the first when it differs (a
   * header). `schema` then describes the body as text.
   */
  lines?: { first?: z.ZodType; each: z.ZodType };
}

export interface ResponseSpec {
  description: string;
  /** Absent: no body (e.g. 204). */
  body?: BodySpec;
  /** The same answer in other content types (an NDJSON export beside the JSON pages). */
  alternateBodies?: BodySpec[];
  /** Response headers worth naming (Retry-After, Location, ...). */
  headers?: Record<string, string>;
}

export interface OperationSpec {
  method: HttpMethod;
  /** OpenAPI path template: /v1/messages/{id} (Express's :id written as {id}). */
  path: string;
  /** Groups operations on /docs: Messages, Batches, Groups, Webhooks, Apps, Legacy, Operations ... */
  tag: string;
  summary: string;
  /** Unique, camelCase (createMessage); derived from method and path when absent. */
  operationId?: string;
  description?: string;
  /** app: Bearer app key; admin: Bearer TTPUSH_ADMIN_KEY; metrics: Bearer TTPUSH_METRICS_TOKEN when set; none: open. */
  auth: 'app' | 'admin' | 'metrics' | 'none';
  /** Path parameters, one key per {name} in `path`. */
  params?: z.ZodObject;
  query?: z.ZodObject;
  /** Request headers the operation reads (Idempotency-Key ...). */
  headers?: z.ZodObject;
  body?: BodySpec;
  /** Other content types the operation takes (an NDJSON upload beside a JSON body). */
  alternateBodies?: BodySpec[];
  /** Keyed by HTTP status ('200', '202', ...). */
  responses: Record<string, ResponseSpec>;
  /** The error codes this operation may answer; their statuses come from ERROR_STATUS. */
  errors?: readonly ApiErrorCode[];
}

const operations: OperationSpec[] = [];

/** Called once per operation at module load by the file that owns the route. */
export function defineOperation(op: OperationSpec): OperationSpec {
  const dup = operations.find((o) => o.method === op.method && o.path === op.path);
  if (dup) throw new Error(`operation ${op.method.toUpperCase()} ${op.path} is defined twice`);
  operations.push(op);
  return op;
}

export function allOperations(): readonly OperationSpec[] {
  return operations;
}
