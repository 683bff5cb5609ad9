// One webhook attempt against local servers: success, HTTP errors, redirects refused, timeouts, refused connections,
// and the Host header of the URL while connecting to the checked address.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '@ttpush/testkit';
import { postSigned } from '../../src/webhooks/http-post.ts';

let server: Server;
let port: number;
const seen: { host: string | undefined; body: string; id: string | undefined }[] = [];
const handlers: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  '/ok': (_req, res) => res.writeHead(204).end(),
  '/fail': (_req, res) => res.writeHead(503).end('busy'),
  '/redirect': (_req, res) => res.writeHead(302, { location: 'http://169.254.169.254/' }).end(),
  '/hang': () => undefined,
};

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ host: req.headers.host, body, id: req.headers['webhook-id'] as string | undefined });
      handlers[req.url ?? '']!(req, res);
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  port = (server.address() as AddressInfo).port;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((ok) => server.close(ok));
});

const target = (path: string, host = 'hooks.example.com') => ({
  url: new URL(`http://${host}:${port}${path}`),
  address: '127.0.0.1',
  family: 4 as const,
});

test('a 2xx is a success; the body and headers arrive, with the Host of the URL', async () => {
  const r = await postSigned(target('/ok'), { 'webhook-id': 'evt_1' }, '{"a":1}', 2000);
  assert.deepEqual({ ok: r.ok, status: r.status, error: r.error }, { ok: true, status: 204, error: null });
  const last = seen.at(-1)!;
  assert.equal(last.host, `hooks.example.com:${port}`);
  assert.equal(last.body, '{"a":1}');
  assert.equal(last.id, 'evt_1');
});

test('an HTTP error and a redirect are failures; the redirect is not followed', async () => {
  const fail = await postSigned(target('/fail'), {}, '{}', 2000);
  assert.deepEqual(
    { ok: fail.ok, status: fail.status, error: fail.error },
    { ok: false, status: 503, error: 'http_503' },
  );
  const before = seen.length;
  const moved = await postSigned(target('/redirect'), {}, '{}', 2000);
  assert.deepEqual(
    { ok: moved.ok, status: moved.status, error: moved.error },
    {
      ok: false,
      status: 302,
      error: 'redirect_refused',
    },
  );
  assert.equal(seen.length, before + 1);
});

test('no answer within the timeout, and a refused connection, are failures without a status', async () => {
  const hung = await postSigned(target('/hang'), {}, '{}', 300);
  assert.equal(hung.error, 'timeout');
  assert.equal(hung.status, null);
  assert.ok(hung.durationMs >= 290 && hung.durationMs < 2000, String(hung.durationMs));
  const closed = await freePort();
  const refused = await postSigned(
    { url: new URL(`http://nowhere.example:${closed}/`), address: '127.0.0.1', family: 4 },
    {},
    '{}',
    2000,
  );
  assert.equal(refused.error, 'connection_refused');
});
