/**
 * The OpenAPI 3.1 document of every registered operation: generated from the zod schemas the routes
 * validate with (z.toJSONSchema, JSON Schema 2020-12, which OpenAPI 3.1 uses as is). A schema with an
 * `id` in its meta becomes components.schemas[id]; error answers come from ERROR_STATUS per operation.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ERROR_STATUS, type ApiErrorCode } from '../errors.ts';
import { ErrorBody } from '../schemas/error.ts';
import type { BodySpec, OperationSpec, ResponseSpec } from './registry.ts';

type Json = Record<string, unknown>;

const ROOT_PACKAGE = new URL('../../../../package.json', import.meta.url);

const TAGS: Readonly<Record<string, string>> = {
  Messages: 'Single texts to a user or a group: send, follow, cancel.',
  Batches: 'One text (or one per recipient) to many recipients, uploaded as JSON or streamed as NDJSON.',
  Groups: 'TeamTalk group administration, answered synchronously.',
  Legacy: "The old http_msg_server's /query endpoints, byte for byte: existing callers switch without a change.",
  Operations:
    'Health, readiness, metrics and this reference. No app key needed; /metrics takes the metrics token when TTPUSH_METRICS_TOKEN is set.',
};

/** Converts zod schemas, collecting named ones as components; a name used for two different schemas is an error. */
class SchemaSet {
  readonly components: Record<string, Json> = {};

  /** Throws for what JSON Schema cannot express (a transform's output, a custom check's type): document it otherwise. */
  convert(schema: z.ZodType, io: 'input' | 'output'): Json {
    const out = z.toJSONSchema(schema, { target: 'draft-2020-12', io }) as Json;
    const { $schema: _dialect, $defs, ...rest } = out;
    for (const [id, def] of Object.entries(($defs ?? {}) as Record<string, Json>)) {
      const named = relink(def);
      const known = this.components[id];
      if (known !== undefined && JSON.stringify(known) !== JSON.stringify(named)) {
        throw new Error(`two different schemas are named ${id} (as ${io}): give one another id`);
      }
      this.components[id] = named;
    }
    return relink(rest);
  }
}

function relink(schema: Json): Json {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/$defs/', '"#/components/schemas/')) as Json;
}

function operationId(op: OperationSpec): string {
  if (op.operationId) return op.operationId;
  const words = op.path.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return op.method + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

function parameters(op: OperationSpec, set: SchemaSet): Json[] {
  const out: Json[] = [];
  const add = (where: 'path' | 'query' | 'header', shape: z.ZodObject | undefined) => {
    for (const [name, field] of Object.entries(shape?.shape ?? {}) as [string, z.ZodType][]) {
      const { description, example, ...schema } = set.convert(field, 'input');
      out.push({
        name,
        in: where,
        required: where === 'path' || !field.safeParse(undefined).success,
        ...(description !== undefined && { description }),
        schema,
        ...(example !== undefined && { example }),
      });
    }
  };
  add('path', op.params);
  add('query', op.query);
  add('header', op.headers);
  for (const [, name] of op.path.matchAll(/\{([^}]+)\}/g)) {
    if (!out.some((p) => p.in === 'path' && p.name === name)) {
      throw new Error(`${op.method.toUpperCase()} ${op.path}: the path parameter ${name} has no schema in params`);
    }
  }
  return out;
}

function content(bodies: readonly BodySpec[], io: 'input' | 'output', set: SchemaSet): Json {
  const out: Json = {};
  for (const body of bodies) {
    const schema = set.convert(body.schema, io);
    if (body.lines?.first) schema['x-ndjson-first-line'] = set.convert(body.lines.first, io);
    if (body.lines) schema['x-ndjson-line'] = set.convert(body.lines.each, io);
    out[body.contentType] = { schema, ...(body.example !== undefined && { example: body.example }) };
  }
  return out;
}

function response(spec: ResponseSpec, set: SchemaSet): Json {
  const bodies = spec.body ? [spec.body, ...(spec.alternateBodies ?? [])] : [];
  return {
    description: spec.description,
    ...(spec.headers && {
      headers: Object.fromEntries(
        Object.entries(spec.headers).map(([name, description]) => [name, { description, schema: { type: 'string' } }]),
      ),
    }),
    ...(bodies.length > 0 && { content: content(bodies, 'output', set) }),
  };
}

/** One answer per status the operation's error codes map to, listing the codes. */
function errorResponses(codes: readonly ApiErrorCode[], set: SchemaSet): Record<string, Json> {
  const byStatus = new Map<number, ApiErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = ERROR_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const schema = set.convert(ErrorBody, 'output');
  return Object.fromEntries(
    [...byStatus.entries()]
      .sort(([a], [b]) => a - b)
      .map(([status, list]) => [
        String(status),
        { description: `error.code: ${list.join(', ')}`, content: { 'application/json': { schema } } },
      ]),
  );
}

function operation(op: OperationSpec, set: SchemaSet): Json {
  const params = parameters(op, set);
  const bodies = op.body ? [op.body, ...(op.alternateBodies ?? [])] : [];
  const responses: Json = {};
  for (const [status, spec] of Object.entries(op.responses)) responses[status] = response(spec, set);
  for (const [status, answer] of Object.entries(errorResponses(op.errors ?? [], set))) {
    responses[status] ??= answer;
  }
  return {
    tags: [op.tag],
    operationId: operationId(op),
    summary: op.summary,
    ...(op.description && { description: op.description }),
    security:
      op.auth === 'none'
        ? []
        : op.auth === 'metrics'
          ? // Open unless TTPUSH_METRICS_TOKEN is set.
            [{ metricsToken: [] }, {}]
          : [{ [op.auth === 'app' ? 'appKey' : 'adminKey']: [] }],
    ...(params.length > 0 && { parameters: params }),
    ...(bodies.length > 0 && {
      requestBody: {
        required: true,
        ...(op.body?.description && { description: op.body.description }),
        content: content(bodies, 'input', set),
      },
    }),
    responses,
  };
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(ROOT_PACKAGE, 'utf8')) as { version: string }).version;
}

/** The document for `ops` (every registered operation, once index.ts loaded them). */
export function openApiDocument(ops: readonly OperationSpec[]): Json {
  const set = new SchemaSet();
  const paths: Record<string, Json> = {};
  // Known tags in their reading order, then any other in the order first seen; paths by tag, then path.
  const tags = [...Object.keys(TAGS), ...ops.map((op) => op.tag)].filter(
    (tag, i, all) => all.indexOf(tag) === i && ops.some((op) => op.tag === tag),
  );
  const sorted = [...ops].sort((a, b) => tags.indexOf(a.tag) - tags.indexOf(b.tag) || a.path.localeCompare(b.path));
  for (const op of sorted) (paths[op.path] ??= {})[op.method] = operation(op, set);
  const sortedSchemas = Object.fromEntries(Object.entries(set.components).sort(([a], [b]) => a.localeCompare(b)));
  return {
    openapi: '3.1.0',
    info: {
      title: 'ttpush',
      version: packageVersion(),
      summary: 'Push gateway for the TeamTalk IM server',
      description:
        'Send texts from user A to user B or group G over TeamTalk: queued in Redis, delivered by workers over the TeamTalk wire protocol. Every /v1 refusal is {"error": {code, message, field}}; branch on code.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: '/', description: 'The ttpush serving this document' }],
    tags: tags.map((name) => ({ name, ...(TAGS[name] && { description: TAGS[name] }) })),
    paths,
    components: {
      schemas: sortedSchemas,
      securitySchemes: {
        appKey: {
          type: 'http',
          scheme: 'bearer',
          description: 'An app key (TTPUSH_APP_KEYS / the app keys file): Authorization: Bearer <key>.',
        },
        adminKey: {
          type: 'http',
          scheme: 'bearer',
          description: 'The admin key (TTPUSH_ADMIN_KEY): Authorization: Bearer <key>.',
        },
        metricsToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'The metrics token (TTPUSH_METRICS_TOKEN), when set: Authorization: Bearer <token>.',
        },
      },
    },
  };
}
