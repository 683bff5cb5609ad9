// BatchStore's typed script outcomes over a real redis-server: what each batch script answers in each state
// (claims, partial and final chunk writes, upload ends, cancel, pause and resume), decoded into unions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { CHUNK_SIZE, UPLOAD_STALE_MS, chunkLength, newBatchId, type BatchHeader } from '@ttpush/contract';
import { RedisServer } from '@ttpush/testkit';
import { BatchStore } from '../src/batches/batch-store.ts';
import { encodeRecipient } from '../src/batches/batch-codec.ts';
import { ScriptError, ScriptStateError } from '../src/errors.ts';

const HEADER: BatchHeader = { from: 1, text: 'hello', priority: 'normal' };

let server: RedisServer;
let redis: Redis;
let store: BatchStore;

before(async () => {
  server = await RedisServer.start();
  redis = new Redis(server.url);
  store = new BatchStore(redis, 'tbs');
});

after(async () => {
  redis?.disconnect();
  await server?.stop();
});

/** A batch begun at `now` with `valid` recipients written; finished (queued) unless `uploading`. */
async function batch(valid: number, opts: { uploading?: boolean; now?: number } = {}): Promise<string> {
  const now = opts.now ?? Date.now();
  const id = newBatchId(now);
  await store.begin({ id, app: 'a', header: HEADER, now });
  const chunks = Math.ceil(valid / CHUNK_SIZE);
  for (let n = 0; n < chunks; n++) {
    const users = Array.from({ length: chunkLength(valid, n) }, (_, i) =>
      encodeRecipient({ to: { user: n * CHUNK_SIZE + i + 1 } }),
    );
    await store.writeChunk(id, n, `[${users.join(',')}]`, now);
  }
  if (!opts.uploading) {
    assert.equal(
      await store.finishUpload(id, { valid, chunks, rejected: 0, duplicates: 0 }, now),
      valid ? 'queued' : 'completed',
    );
  }
  return id;
}

const results = (n: number) => `[${Array.from({ length: n }, (_, i) => `[1,${i + 1}]`).join(',')}]`;

test('an upload ends queued, or completed with nothing to send; ending it twice or after it expired is refused', async () => {
  await batch(3);
  const empty = await batch(0);
  assert.equal((await store.view(empty))?.status, 'completed');
  const again = store.finishUpload(empty, { valid: 0, chunks: 0, rejected: 0, duplicates: 0 }, Date.now());
  await assert.rejects(again, (err: unknown) => err instanceof ScriptStateError && err.code === ScriptError.WrongState);
  const gone = store.finishUpload(newBatchId(), { valid: 1, chunks: 1, rejected: 0, duplicates: 0 }, Date.now());
  await assert.rejects(gone, (err: unknown) => err instanceof ScriptStateError && err.code === ScriptError.Missing);
});

test('claim: missing, uploading, abandoned, paused, then a first and a second attempt, then done', async () => {
  assert.deepEqual(await store.chunks.claim(newBatchId(), 0, 1), { claimed: false, reason: 'missing' });
  const uploading = await batch(2, { uploading: true });
  assert.deepEqual(await store.chunks.claim(uploading, 0, 2), { claimed: false, reason: 'uploading' });
  const abandoned = await batch(2, { uploading: true, now: Date.now() - UPLOAD_STALE_MS - 1000 });
  assert.deepEqual(await store.chunks.claim(abandoned, 0, 2), { claimed: false, reason: 'missing' });

  const id = await batch(2);
  assert.deepEqual(await store.pause(id), { outcome: 'changed' });
  assert.deepEqual(await store.chunks.claim(id, 0, 2), { claimed: false, reason: 'paused' });
  assert.deepEqual(await store.resume(id), { outcome: 'changed' });

  const now = Date.now();
  const first = await store.chunks.claim(id, 0, 2, now);
  assert.deepEqual(first, {
    claimed: true,
    status: 'running',
    createTime: Math.floor(now / 1000),
    attempt: '1',
    clean: true,
    partial: undefined,
  });
  assert.equal((await store.view(id))?.counts.sending, 2);
  const partial = '[[1,7],null]';
  const p = { results: partial, clean: false, sent: 1, failed: 0 };
  assert.equal(await store.chunks.writePartial(id, 0, { ...p, attempt: '1' }), 'recorded');
  const second = await store.chunks.claim(id, 0, 2, now + 5000);
  assert.deepEqual(second, {
    claimed: true,
    status: 'running',
    createTime: Math.floor(now / 1000),
    attempt: '2',
    clean: false,
    partial,
  });
  assert.equal(
    await store.chunks.writePartial(id, 0, { ...p, attempt: '1' }),
    'lost',
    'the first attempt is fenced off',
  );

  const final = { results: results(2), sent: 1, failed: 0, cancelled: 0, settled: 1 };
  assert.equal(await store.chunks.finish(id, 0, { ...final, attempt: '1' }), 'lost');
  assert.equal(await store.chunks.finish(id, 0, { ...final, attempt: '2' }), 'finished');
  assert.equal(await store.chunks.finish(id, 0, { ...final, attempt: '2' }), 'duplicate');
  assert.deepEqual(await store.chunks.claim(id, 0, 2), { claimed: false, reason: 'done' });
  const v = await store.view(id);
  assert.equal(v?.status, 'completed');
  assert.deepEqual(v?.counts, { queued: 0, sending: 0, sent: 2, failed: 0, cancelled: 0 });
});

test('chunks.finish: done while other chunks are left, finished with the last one', async () => {
  const id = await batch(CHUNK_SIZE + 1);
  const a = await store.chunks.claim(id, 0, CHUNK_SIZE);
  const b = await store.chunks.claim(id, 1, 1);
  assert.ok(a.claimed && b.claimed);
  const f = { failed: 0, cancelled: 0 };
  const r0 = { ...f, attempt: a.attempt, results: results(CHUNK_SIZE), sent: CHUNK_SIZE, settled: CHUNK_SIZE };
  assert.equal(await store.chunks.finish(id, 0, r0), 'done');
  assert.equal(
    await store.chunks.finish(id, 1, { ...f, attempt: b.attempt, results: results(1), sent: 1, settled: 1 }),
    'finished',
  );
});

test('cancel, pause and resume: changed, unchanged, conflict with the state found, missing', async () => {
  const gone = newBatchId();
  for (const act of [store.cancel, store.pause, store.resume]) {
    assert.deepEqual(await act.call(store, gone), { outcome: 'missing' });
  }
  const id = await batch(CHUNK_SIZE + 1);
  assert.deepEqual(await store.resume(id), { outcome: 'unchanged' });
  assert.deepEqual(await store.pause(id), { outcome: 'changed' });
  assert.deepEqual(await store.pause(id), { outcome: 'unchanged' });
  assert.deepEqual(await store.resume(id), { outcome: 'changed' });
  assert.equal((await store.view(id))?.status, 'queued');

  // A claimed chunk is settled by its worker; the other is cancelled at once.
  const claim = await store.chunks.claim(id, 0, CHUNK_SIZE);
  assert.ok(claim.claimed);
  assert.deepEqual(await store.cancel(id), { outcome: 'changed' });
  assert.deepEqual(await store.cancel(id), { outcome: 'unchanged' });
  assert.deepEqual(await store.pause(id), { outcome: 'conflict', status: 'cancelled' });
  assert.deepEqual(await store.resume(id), { outcome: 'conflict', status: 'cancelled' });
  assert.equal((await store.view(id))?.counts.cancelled, 1);
  const again = await store.chunks.claim(id, 0, CHUNK_SIZE);
  assert.ok(again.claimed);
  assert.equal(again.status, 'cancelled');
  assert.equal(again.attempt, '2');

  const uploading = await batch(1, { uploading: true });
  assert.deepEqual(await store.cancel(uploading), { outcome: 'conflict', status: 'uploading' });
  const done = await batch(0);
  assert.deepEqual(await store.cancel(done), { outcome: 'conflict', status: 'completed' });
});
