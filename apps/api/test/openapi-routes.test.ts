/**
 * Drift between the Express app and the API reference: every route the app serves (walked through its
 * router stack, sub-routers included) has an operation, and every operation a route.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import express from 'express';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { BatchService } from '../src/batch-service.ts';
import type { WebhookStore } from '@ttpush/store';
import { createApp } from '../src/app.ts';
import { createApiMetrics } from '../src/metrics.ts';
import { allOperations } from '../src/openapi/index.ts';
import { MemoryService } from './helpers/memory-service.ts';
import { testConfig } from './helpers/test-app.ts';

/** Path prefixes the app serves that are not API operations, each with its reason. */
const NOT_OPERATIONS: readonly { prefix: string; reason: string }[] = [
  { prefix: '/docs/assets', reason: "static files of the /docs page (Swagger UI's and its start script)" },
  { prefix: '/admin/queues', reason: "bull-board's queue dashboard, an app of its own with its own pages and JSON" },
];

/**
 * Handlers that answer requests under their mount path without routes the walk can see: an Express app
 * mounted with app.use (Express wraps it as `mounted_app`) and express.static. Other path-mounted
 * middleware (an auth check on /v1/admin, say) answers nothing by itself and is not reported.
 */
const SERVING_HANDLERS: ReadonlySet<string> = new Set(['mounted_app', 'serveStatic']);

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle: { stack?: Layer[]; name?: string };
  rawPath?: unknown;
  slash?: boolean;
}

/** `METHOD /path` of every route, and the paths of mounted handlers the walk cannot see into. */
function walk(stack: readonly Layer[], prefix: string, routes: Set<string>, opaque: string[]): void {
  for (const layer of stack) {
    const mount = layer.slash || layer.rawPath === '/' || layer.rawPath === undefined ? '' : String(layer.rawPath);
    if (layer.route) {
      for (const path of [layer.route.path].flat()) {
        const full = (prefix + path).replace(/:(\w+)/g, '{$1}');
        for (const method of Object.keys(layer.route.methods).filter((m) => m !== '_all')) {
          routes.add(`${method.toUpperCase()} ${full}`);
        }
      }
    } else if (Array.isArray(layer.handle.stack)) {
      walk(layer.handle.stack, prefix + mount, routes, opaque);
    } else if (mount !== '' && SERVING_HANDLERS.has(layer.handle.name ?? '')) {
      opaque.push(prefix + mount);
    }
  }
}

const excluded = (path: string) =>
  NOT_OPERATIONS.some(({ prefix }) => path === prefix || path.startsWith(`${prefix}/`));

test('every route the app serves has an operation in the reference, and every operation a route', () => {
  const app = createApp({
    config: testConfig(),
    service: new MemoryService(),
    // Only its routes are walked: never called.
    batches: {} as BatchService,
    webhooks: {} as WebhookStore,
    console: {
      overview: () => Promise.reject(new Error('not called: only the routes are walked')),
      queues: [],
    },
    logger: pino({ level: 'silent' }),
    metrics: createApiMetrics(new Registry()),
  });
  const routes = new Set<string>();
  const opaque: string[] = [];
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '', routes, opaque);

  const served = [...routes].filter((r) => !excluded(r.slice(r.indexOf(' ') + 1))).sort();
  // An operation may describe the entry of an excluded mount (GET /admin/queues): the walk cannot see it.
  const described = allOperations()
    .map((op) => `${op.method.toUpperCase()} ${op.path}`)
    .filter((r) => !excluded(r.slice(r.indexOf(' ') + 1)))
    .sort();
  assert.ok(served.length >= 20, `the walk found only ${served.length} routes: ${served.join(', ')}`);
  assert.deepEqual(
    served.filter((r) => !described.includes(r)),
    [],
    'routes without an operation: describe them with defineOperation in an ops-*.ts file imported by openapi/index.ts',
  );
  assert.deepEqual(
    described.filter((r) => !served.includes(r)),
    [],
    'operations without a route: remove them, or mount their route',
  );
  assert.deepEqual(
    opaque.filter((p) => !excluded(p)),
    [],
    'handlers mounted at a path the walk cannot see into: list them in NOT_OPERATIONS with the reason',
  );
});

test('the walk sees routes of sub-routers, mounted apps and static files added to the app', () => {
  const app = createApp({
    config: testConfig(),
    service: new MemoryService(),
    logger: pino({ level: 'silent' }),
    metrics: createApiMetrics(new Registry()),
  });
  app.get('/v1/undescribed/:id', (_req, res) => void res.end());
  const sub = express.Router();
  sub.post('/things/:thing', (_req, res) => void res.end());
  app.use('/v1/sub', sub);
  app.use('/console/app', express());
  app.use('/console/files', express.static('/nonexistent'));
  app.use('/v1/guarded', (_req, _res, next) => next());
  const routes = new Set<string>();
  const opaque: string[] = [];
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '', routes, opaque);
  assert.ok(routes.has('GET /v1/undescribed/{id}'));
  assert.ok(routes.has('POST /v1/sub/things/{thing}'));
  assert.deepEqual(opaque, ['/console/app', '/console/files']);
  assert.ok(!allOperations().some((op) => op.path === '/v1/undescribed/{id}'));
});
