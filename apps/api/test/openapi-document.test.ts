/**
 * The generated document is OpenAPI 3.1 in shape (required fields, every $ref resolves, every path
 * parameter declared, operation ids unique, error answers from ERROR_STATUS), and docs/openapi.json is
 * what the code generates.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_STATUS } from '../src/errors.ts';
import { allOperations, apiDocument, apiDocumentText } from '../src/openapi/index.ts';
import { openApiDocument } from '../src/openapi/document.ts';
import type { OperationSpec } from '../src/openapi/registry.ts';
import { z } from 'zod';

type Json = Record<string, any>;
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** Every `$ref` in the document, with where it stands. */
function refs(node: unknown, at: string, out: [string, string][]): [string, string][] {
  if (Array.isArray(node)) node.forEach((n, i) => refs(n, `${at}/${i}`, out));
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref') out.push([at, String(v)]);
      else refs(v, `${at}/${k}`, out);
    }
  }
  return out;
}

function resolve(doc: Json, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    node = node !== null && typeof node === 'object' ? (node as Json)[key] : undefined;
  }
  return node;
}

/** The problems of a document against OpenAPI 3.1's required structure; empty when it is valid. */
function problems(doc: Json): string[] {
  const out: string[] = [];
  if (!/^3\.1\.\d+$/.test(doc.openapi)) out.push(`openapi is ${doc.openapi}, not 3.1.x`);
  if (typeof doc.info?.title !== 'string' || typeof doc.info?.version !== 'string') {
    out.push('info needs title and version');
  }
  if (typeof doc.paths !== 'object') out.push('paths is missing');
  const schemes = Object.keys(doc.components?.securitySchemes ?? {});
  const tags = (doc.tags ?? []).map((t: Json) => t.name);
  const ids = new Set<string>();
  for (const [path, item] of Object.entries<Json>(doc.paths ?? {})) {
    if (!path.startsWith('/')) out.push(`path ${path} does not start with /`);
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    for (const [method, op] of Object.entries<Json>(item)) {
      const where = `${method.toUpperCase()} ${path}`;
      if (!METHODS.includes(method)) out.push(`${where}: ${method} is not an HTTP method`);
      if (typeof op.operationId !== 'string' || ids.has(op.operationId)) {
        out.push(`${where}: operationId missing or repeated`);
      }
      ids.add(op.operationId);
      const responses = Object.entries<Json>(op.responses ?? {});
      if (responses.length === 0) out.push(`${where}: no responses`);
      for (const [status, r] of responses) {
        if (!/^[1-5]\d\d$/.test(status)) out.push(`${where}: response ${status} is not a status`);
        if (typeof r.description !== 'string') out.push(`${where} ${status}: no description`);
      }
      const params: Json[] = op.parameters ?? [];
      for (const p of params) {
        if (!['path', 'query', 'header', 'cookie'].includes(p.in)) out.push(`${where}: parameter ${p.name} in ${p.in}`);
        if (p.schema === undefined) out.push(`${where}: parameter ${p.name} has no schema`);
      }
      const declared = params.filter((p) => p.in === 'path');
      for (const name of templated) {
        const p = declared.find((d) => d.name === name);
        if (!p) out.push(`${where}: path parameter {${name}} is not declared`);
        else if (p.required !== true) out.push(`${where}: path parameter {${name}} is not required`);
      }
      for (const p of declared) {
        if (!templated.includes(p.name)) out.push(`${where}: path parameter ${p.name} is not in the path`);
      }
      for (const req of op.security ?? []) {
        for (const name of Object.keys(req)) if (!schemes.includes(name)) out.push(`${where}: unknown scheme ${name}`);
      }
      for (const tag of op.tags ?? []) if (!tags.includes(tag)) out.push(`${where}: tag ${tag} is not listed`);
      if (op.requestBody && Object.keys(op.requestBody.content ?? {}).length === 0) {
        out.push(`${where}: requestBody without content`);
      }
    }
  }
  for (const [at, ref] of refs(doc, '#', [])) {
    if (resolve(doc, ref) === undefined) out.push(`${at}: $ref ${ref} does not resolve`);
  }
  if (JSON.stringify(doc).includes('"$defs"')) out.push('a $defs was left in (should be components.schemas)');
  return out;
}

test('the document is OpenAPI 3.1 in shape: required fields, $refs, path parameters, ids, tags', () => {
  const doc = apiDocument() as Json;
  assert.deepEqual(problems(doc), []);
  assert.equal(
    doc.info.version,
    JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version,
  );
  assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ['adminKey', 'appKey', 'metricsToken']);
  // /metrics: the token when TTPUSH_METRICS_TOKEN is set, nothing otherwise.
  assert.deepEqual(doc.paths['/metrics'].get.security, [{ metricsToken: [] }, {}]);
  assert.equal(doc.components.securitySchemes.appKey.scheme, 'bearer');
});

test('the shape check finds a dangling $ref, an undeclared path parameter and a repeated operationId', () => {
  const doc = structuredClone(apiDocument()) as Json;
  doc.paths['/v1/messages'].post.requestBody.content['application/json'].schema = { $ref: '#/components/schemas/Nope' };
  doc.paths['/v1/messages/{id}'].get.parameters = [];
  doc.paths['/v1/messages/{id}'].delete.operationId = doc.paths['/v1/messages/{id}'].get.operationId;
  const found = problems(doc).join('\n');
  assert.match(found, /Nope does not resolve/);
  assert.match(found, /GET \/v1\/messages\/\{id\}: path parameter \{id\} is not declared/);
  assert.match(found, /operationId missing or repeated/);
});

test("each operation answers its error codes' statuses with the Error schema, listing the codes", () => {
  const doc = apiDocument() as Json;
  for (const op of allOperations()) {
    const answered = doc.paths[op.path][op.method].responses;
    for (const code of op.errors ?? []) {
      const status = String(ERROR_STATUS[code]);
      assert.ok(answered[status], `${op.method} ${op.path}: no ${status} for ${code}`);
      assert.match(answered[status].description, new RegExp(`\\b${code}\\b`), `${op.method} ${op.path} ${status}`);
      assert.equal(answered[status].content['application/json'].schema.$ref, '#/components/schemas/Error');
    }
  }
});

test('a request schema is the one the route validates with: the document shows its fields and limits', () => {
  const doc = apiDocument() as Json;
  const send = doc.components.schemas.SendMessageRequest;
  // content or parts: one of the two, checked by the route (both: invalid_field; neither: missing_field content).
  assert.deepEqual(send.required, ['from', 'to']);
  assert.equal(send.additionalProperties, false);
  assert.deepEqual(Object.keys(send.properties), [
    'from',
    'to',
    'content',
    'parts',
    'priority',
    'send_at',
    'deadline',
    'metadata',
    'callback_url',
  ]);
  assert.equal(doc.components.schemas.Parts.minItems, 1);
  assert.equal(doc.components.schemas.UserId.maximum, 4294967295);
  const upload = doc.paths['/v1/batches'].post.requestBody.content['application/x-ndjson'].schema;
  assert.equal(upload['x-ndjson-first-line'].$ref, '#/components/schemas/BatchNdjsonHeader');
  assert.equal(upload['x-ndjson-line'].$ref, '#/components/schemas/BatchRecipient');
});

test('the generator refuses a path parameter without a schema and two schemas under one name', () => {
  const bare: OperationSpec = {
    method: 'get',
    path: '/v1/things/{id}',
    tag: 'Things',
    summary: 'x',
    auth: 'app',
    responses: { '200': { description: 'x' } },
  };
  assert.throws(() => openApiDocument([bare]), /path parameter id has no schema/);
  const a = z.object({ a: z.string() }).meta({ id: 'Twin' });
  const b = z.object({ b: z.number() }).meta({ id: 'Twin' });
  const twins: OperationSpec[] = [
    {
      ...bare,
      path: '/a',
      responses: { '200': { description: 'a', body: { contentType: 'application/json', schema: a } } },
    },
    {
      ...bare,
      path: '/b',
      responses: { '200': { description: 'b', body: { contentType: 'application/json', schema: b } } },
    },
  ];
  assert.throws(() => openApiDocument(twins), /two different schemas are named Twin/);
});

test('docs/openapi.json is what the code generates', () => {
  const committed = readFileSync(new URL('../../../docs/openapi.json', import.meta.url), 'utf8');
  assert.ok(committed === apiDocumentText(), 'docs/openapi.json differs from the code: run npm run gen:openapi');
});
