// Bounded cost on real processes (api and worker as child processes, a real redis-server, the sandbox): a
// finished message's record loses its text and is kept TTPUSH_RECORD_TTL, while GET still answers; an upload
// whose client disconnects stops at once in the api process (no batch, no job, the process idle again).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { createGzip } from 'node:zlib';
import { Redis } from 'ioredis';
import { Keys } from '@ttpush/contract';
import { Harness, DEV_KEY, sleep } from './helpers/harness.ts';

const HOUR_MS = 3_600_000;
let h: Harness;
let redis: Redis;
const keys = new Keys('ttp', 1);

before(async () => {
  h = await Harness.start({
    env: {
      TTPUSH_RECORD_TTL: '1h',
      // Limits out of the way: the disconnect alone must stop the upload.
      TTPUSH_UPLOAD_MAX_LINES: '100000000',
      TTPUSH_UPLOAD_MAX_BYTES: String(64 * 1024 ** 3),
      TTPUSH_UPLOAD_TIMEOUT: '1h',
    },
  });
  redis = new Redis(h.redis.url);
});

after(async () => {
  redis?.disconnect();
  await h?.stop();
});

async function record(id: string): Promise<{ fields: Record<string, string>; ttl: number }> {
  const key = keys.message(id);
  return { fields: await redis.hgetall(key), ttl: await redis.pttl(key) };
}

test('a sent message keeps no text in Redis and lives TTPUSH_RECORD_TTL; GET still shows it', async () => {
  const r = await h.post('/v1/messages?wait=10', { from: 1, to: { user: 2 }, content: 'secret text 1' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.status, 'sent');
  const { fields, ttl } = await record(r.body.id);
  assert.equal(fields.s, 'sent');
  assert.equal(fields.x, undefined, 'the text is dropped once terminal');
  assert.ok(!JSON.stringify(fields).includes('secret text 1'));
  assert.ok(ttl > HOUR_MS - 60_000 && ttl <= HOUR_MS, `ttl ${ttl}`);
  const g = await h.get(`/v1/messages/${r.body.id}`);
  assert.equal(g.status, 200);
  assert.equal(g.body.status, 'sent');
  assert.equal(g.body.msg_id, r.body.msg_id);
  assert.equal('content' in g.body, false);
});

test('a scheduled message keeps its text until it ends; cancelled, it drops it and lives TTPUSH_RECORD_TTL', async () => {
  const sendAt = new Date(Date.now() + HOUR_MS).toISOString();
  const r = await h.post('/v1/messages', { from: 1, to: { user: 3 }, content: 'later text', send_at: sendAt });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const waiting = await record(r.body.id);
  assert.equal(waiting.fields.x, 'later text', 'a message not yet sent keeps its text (read-back needs it)');
  assert.equal(waiting.ttl, -1);
  const d = await fetch(`${h.url}/v1/messages/${r.body.id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${DEV_KEY}` },
  });
  assert.equal(d.status, 200);
  const { fields, ttl } = await record(r.body.id);
  assert.equal(fields.s, 'cancelled');
  assert.equal(fields.x, undefined);
  assert.ok(ttl > HOUR_MS - 60_000 && ttl <= HOUR_MS, `ttl ${ttl}`);
  assert.equal((await h.get(`/v1/messages/${r.body.id}`)).body.status, 'cancelled');
});

test('a finished batch is kept TTPUSH_RECORD_TTL too', async () => {
  const r = await h.post('/v1/batches', { from: 1, content: 'batch ttl', recipients: [{ user: 5 }, { user: 6 }] });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  await waitFor(
    'the batch to finish',
    async () => (await h.get(`/v1/batches/${r.body.id}`)).body.status === 'completed',
  );
  const ttl = await redis.pttl(`ttp:b:{${r.body.id}}`);
  assert.ok(ttl > HOUR_MS - 60_000 && ttl <= HOUR_MS, `ttl ${ttl}`);
});

/** CPU seconds (user + system) the process has used so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${h.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

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

test('a gzip of newlines whose client disconnects: the api stops at once, queues nothing and goes idle', async () => {
  const pid = h.api!.child.pid!;
  // 1 GB of newlines, about 1 MB of gzip: minutes of a core if the api went on after the client left.
  const bomb = await gzipNewlines('{"from": 1, "content": "bomb"}\n{"user": 2}\n', 1024);
  const earlier = new Set(await redis.keys('ttp:b:*'));
  const fresh = async () => (await redis.keys('ttp:b:*')).filter((k) => !earlier.has(k));
  const socket = connect(h.apiPort, '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(
    'POST /v1/batches HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-ndjson\r\ncontent-encoding: gzip\r\n' +
      `authorization: Bearer ${DEV_KEY}\r\ncontent-length: ${bomb.length}\r\n\r\n`,
  );
  socket.write(bomb);
  await waitFor('the upload to begin', async () => (await fresh()).length > 0);
  socket.destroy();
  // Idle again: a second of wall time costs the api well under half a second of CPU.
  await waitFor('the api to go idle', async () => {
    const t0 = cpuSeconds(pid);
    await sleep(1000);
    return cpuSeconds(pid) - t0 < 0.3;
  });
  await waitFor('its keys to be deleted', async () => (await fresh()).length === 0);
  assert.equal(await metric('ttpush_batch_uploads_stopped_total', 'reason="client_gone"'), 1);
  assert.equal((await redis.keys('ttp:*lanes:bat_*')).length, 0, 'no chunk job');
});
