// Batch uploads cost bounded memory and CPU, over real TCP and a real redis-server: the rejected lines a batch
// lists are capped (a million invalid lines cost Redis about what a thousand do), an upload is bounded in bytes
// after decompression, in lines (blank ones too) and in time, each with its 4xx; a client that disconnects
// mid-upload stops the work at once and leaves nothing queued.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { createGzip, gzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { RedisBatchService } from '../src/batch-service.ts';
import { producerRedis } from '@ttpush/store';
import { RedisServer } from '@ttpush/testkit';
import { createApp } from '../src/app.ts';
import { createApiMetrics, type ApiMetrics } from '../src/metrics.ts';
import { MemoryService } from './helpers/memory-service.ts';
import { KEYS, testConfig } from './helpers/test-app.ts';

const PREFIX = 'tlim';
/** Small limits for the limit tests; the defaults elsewhere. */
const LIMITS = { maxBytes: 1024 * 1024, maxLines: 5000, timeoutMs: 1500 };

let redisServer: RedisServer;
let inspect: Redis;
const conns: Redis[] = [];
const servers: Server[] = [];
const services: RedisBatchService[] = [];

interface Api {
  url: string;
  port: number;
  metrics: ApiMetrics;
}
let big: Api;
let small: Api;

async function startApi(upload?: typeof LIMITS): Promise<Api> {
  const redis = producerRedis(redisServer.url);
  const queueConnection = producerRedis(redisServer.url);
  for (const c of [redis, queueConnection]) {
    conns.push(c);
    c.on('error', () => undefined);
  }
  await Promise.all(
    [redis, queueConnection].map((c) => (c.status === 'ready' ? undefined : new Promise((r) => c.once('ready', r)))),
  );
  const batches = new RedisBatchService({ redis, queueConnection, prefix: PREFIX });
  services.push(batches);
  const base = testConfig();
  const metrics = createApiMetrics(new Registry());
  const app = createApp({
    config: upload ? { ...base, upload } : base,
    service: new MemoryService(),
    batches,
    logger: pino({ level: 'silent' }),
    metrics,
  });
  const server = createServer(app);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, port, metrics };
}

before(async () => {
  redisServer = await RedisServer.start();
  inspect = new Redis(redisServer.url);
  big = await startApi();
  small = await startApi(LIMITS);
});

after(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
  for (const b of services) await b.close();
  for (const c of conns) c.disconnect();
  inspect?.disconnect();
  await redisServer?.stop();
});

async function post(api: Api, body: Buffer | string, headers: Record<string, string>, query = '') {
  const r = await fetch(`${api.url}/v1/batches${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEYS.dev}`, 'content-type': 'application/x-ndjson', ...headers },
    body,
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

async function get(api: Api, path: string) {
  const r = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${KEYS.dev}` } });
  return { status: r.status, body: (await r.json()) as any };
}

async function usedMemory(): Promise<number> {
  const info = await inspect.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

async function batchKeys(): Promise<string[]> {
  return inspect.keys(`${PREFIX}:b:*`);
}

/** Chunk jobs in the lanes queues, whatever their state (BullMQ's own keys, such as its meta, are not jobs). */
async function jobsQueued(): Promise<number> {
  const keys = await inspect.keys(`${PREFIX}:*lanes:*`);
  return keys.filter((k) => /:lanes:(wait|prioritized|delayed|active|paused)$|:lanes:bat_/.test(k)).length;
}

async function stoppedCount(api: Api, reason: string): Promise<number> {
  const m = await api.metrics.uploadsStopped.get();
  return m.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

/** `head`, then `mb` MiB of newlines, gzipped, made without holding the plain text. */
async function gzipNewlines(head: string, mb: number): Promise<Buffer> {
  const gz = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gz.on('data', (d: Buffer) => out.push(d));
  const done = new Promise((resolve) => gz.once('end', resolve));
  gz.write(head);
  const mib = Buffer.alloc(1024 * 1024, 10);
  for (let i = 0; i < mb; i++) if (!gz.write(mib)) await new Promise((r) => gz.once('drain', r));
  gz.end();
  await done;
  return Buffer.concat(out);
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a million invalid lines under skip_invalid: Redis keeps the first 1,000 with their lines; the view counts them all', async () => {
  await inspect.flushall();
  const lines = ['{"from": 1, "content": "cap"}', '{"user": 2}'];
  for (let i = 0; i < 1_000_000; i++) lines.push('{"user": "x"}');
  const gz = gzipSync(`${lines.join('\n')}\n`);
  assert.ok(gz.length < 100_000, `the upload is small: ${gz.length} bytes`);
  const before = await usedMemory();
  const r = await post(big, gz, { 'content-encoding': 'gzip' }, '?skip_invalid=true');
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.equal(r.body.rejected, 1_000_000);
  assert.equal(r.body.rejected_listed, 1000);
  assert.equal(r.body.total, 1_000_001);
  const grown = (await usedMemory()) - before;
  assert.ok(grown < 4 * 1024 * 1024, `Redis grew by ${grown} bytes for a million rejected lines`);
  assert.equal(await inspect.llen(`${PREFIX}:b:{${r.body.id}}:rej`), 1000);

  const view = await get(big, `/v1/batches/${r.body.id}`);
  assert.equal(view.body.rejected, 1_000_000);
  assert.equal(view.body.rejected_listed, 1000);
  // The results list the sample, in order, with line numbers and reasons, then end.
  const rows: any[] = [];
  let cursor: string | null = '';
  while (cursor !== null) {
    const page = await get(
      big,
      `/v1/batches/${r.body.id}/results?state=rejected&limit=300${cursor ? `&cursor=${cursor}` : ''}`,
    );
    assert.equal(page.status, 200);
    rows.push(...page.body.results);
    cursor = page.body.next_cursor;
  }
  assert.equal(rows.length, 1000);
  assert.deepEqual(
    rows.map((row) => row.line),
    Array.from({ length: 1000 }, (_, i) => i + 3),
  );
  assert.equal(rows[0].error.code, 'invalid_field');
  assert.equal(rows[0].input, '{"user": "x"}');
  const exported = await fetch(`${big.url}/v1/batches/${r.body.id}/results?state=rejected&format=ndjson`, {
    headers: { authorization: `Bearer ${KEYS.dev}` },
  });
  assert.equal((await exported.text()).trim().split('\n').length, 1000);
});

test('an upload over TTPUSH_UPLOAD_MAX_BYTES once decompressed is 413 body_too_large, and nothing is kept', async () => {
  await inspect.flushall();
  const gz = gzipSync(Buffer.concat([Buffer.from('{"from": 1, "content": "b"}\n'), Buffer.alloc(3 * 1024 * 1024, 32)]));
  const r = await post(small, gz, { 'content-encoding': 'gzip' });
  assert.equal(r.status, 413, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'body_too_large');
  assert.match(r.body.error.message, /TTPUSH_UPLOAD_MAX_BYTES/);
  assert.deepEqual(await batchKeys(), []);
  assert.equal(await stoppedCount(small, 'too_large'), 1);
});

test('an upload over TTPUSH_UPLOAD_MAX_LINES, blank lines included, is 413 too_many_lines', async () => {
  await inspect.flushall();
  const r = await post(small, `{"from": 1, "content": "l"}\n{"user": 2}\n${'\n'.repeat(LIMITS.maxLines)}`, {});
  assert.equal(r.status, 413, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'too_many_lines');
  assert.match(r.body.error.message, /TTPUSH_UPLOAD_MAX_LINES/);
  assert.deepEqual(await batchKeys(), []);
  // At the limit it passes.
  const ok = await post(small, `{"from": 1, "content": "l"}\n{"user": 2}\n${'\n'.repeat(LIMITS.maxLines - 2)}`, {});
  assert.equal(ok.status, 202, JSON.stringify(ok.body));
  assert.ok((await jobsQueued()) > 0, 'an accepted upload queues its chunk job');
});

test('an upload slower than TTPUSH_UPLOAD_TIMEOUT is answered 408 upload_timeout while the client still sends', async () => {
  await inspect.flushall();
  const socket = connect(small.port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  socket.write(
    'POST /v1/batches HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-ndjson\r\n' +
      `authorization: Bearer ${KEYS.dev}\r\ntransfer-encoding: chunked\r\n\r\n`,
  );
  const piece = (text: string) => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
  socket.write(piece('{"from": 1, "content": "slow"}\n{"user": 2}\n'));
  // A line now and then, never the end: the answer must come from the time limit.
  const dripping = setInterval(() => socket.writable && socket.write(piece('{"user": 3}\n')), 200);
  try {
    await waitFor('the 408', async () => Buffer.concat(chunks).toString().includes('\r\n\r\n{'));
  } finally {
    clearInterval(dripping);
  }
  const text = Buffer.concat(chunks).toString();
  assert.match(text, /^HTTP\/1\.1 408 /);
  assert.match(text, /"code":"upload_timeout"/);
  assert.match(text, /TTPUSH_UPLOAD_TIMEOUT/);
  await closed;
  assert.deepEqual(await batchKeys(), []);
  assert.equal(await stoppedCount(small, 'timeout'), 1);
});

test('a client that disconnects mid-upload stops the work at once: no batch, no job, the loop ends', async () => {
  await inspect.flushall();
  const api = await startApi({ maxBytes: 64 * 1024 * 1024 * 1024, maxLines: 100_000_000, timeoutMs: 3_600_000 });
  // 512 MB of newlines in about 500 KB of gzip: minutes of work, should the api go on after the client left.
  const bomb = await gzipNewlines('{"from": 1, "content": "bomb"}\n{"user": 2}\n', 512);
  const socket = connect(api.port, '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(
    'POST /v1/batches HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-ndjson\r\ncontent-encoding: gzip\r\n' +
      `authorization: Bearer ${KEYS.dev}\r\ncontent-length: ${bomb.length}\r\n\r\n`,
  );
  socket.write(bomb);
  // The upload has begun (its batch exists, uploading) before the client goes.
  await waitFor('the upload to begin', async () => (await batchKeys()).length > 0);
  socket.destroy();
  await waitFor('the upload to stop', async () => (await stoppedCount(api, 'client_gone')) === 1);
  await waitFor('its keys to be deleted', async () => (await batchKeys()).length === 0);
  assert.equal(await jobsQueued(), 0);
});
