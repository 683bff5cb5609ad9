// The console's message lookup (GET /console/api/messages/:id): any app's message for the admin key, with
// its parts when it was sent with parts; refused without the key; 404 for an unknown id.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import type { BatchService } from '../src/batch-service.ts';
import { createApp } from '../src/app.ts';
import { MemoryService } from './helpers/memory-service.ts';
import { KEYS, bearer, testConfig } from './helpers/test-app.ts';

const ADMIN_KEY = 'admin-key-for-console-message-0001';
let server: Server;
let url: string;

before(async () => {
  server = createServer(
    createApp({
      config: testConfig({ adminKey: ADMIN_KEY }),
      service: new MemoryService(),
      // The lookup never touches batches; the console is mounted only with a batch service.
      batches: {} as BatchService,
      logger: pino({ level: 'silent' }),
      console: { overview: () => Promise.reject(new Error('not used')), queues: [] },
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

test('the console shows a message sent with parts, its text and pictures', async () => {
  const parts = [{ text: 'Banner: ' }, { image: 'https://cdn.example.com/banner.png' }];
  const sent = await fetch(`${url}/v1/messages`, {
    method: 'POST',
    headers: { ...bearer(KEYS.crm), 'content-type': 'application/json' },
    body: JSON.stringify({ from: 1001, to: { user: 2001 }, parts }),
  });
  assert.equal(sent.status, 202);
  const { id } = (await sent.json()) as { id: string };
  const r = await fetch(`${url}/console/api/messages/${id}`, { headers: bearer(ADMIN_KEY) });
  assert.equal(r.status, 200);
  const view = (await r.json()) as { id: string; parts: unknown };
  assert.equal(view.id, id);
  assert.deepEqual(view.parts, parts);

  const anonymous = await fetch(`${url}/console/api/messages/${id}`);
  assert.equal(anonymous.status, 401);
  const appKey = await fetch(`${url}/console/api/messages/${id}`, { headers: bearer(KEYS.crm) });
  assert.equal(appKey.status, 401);
  const unknown = await fetch(`${url}/console/api/messages/msg_0000000000000`, { headers: bearer(ADMIN_KEY) });
  assert.equal(unknown.status, 404);
  assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, 'not_found');
});

test('the console page has the lookup form, and its script draws parts as text and links', async () => {
  const page = await (await fetch(`${url}/console`, { headers: bearer(ADMIN_KEY) })).text();
  assert.match(page, /<form id="lookup">/);
  assert.match(page, /<script src="\/console\/assets\/console-lookup.js" defer>/);
  const js = await (await fetch(`${url}/console/assets/console-lookup.js`)).text();
  assert.match(js, /function renderParts/);
  assert.match(js, /\/console\/api\/messages\//);
});
