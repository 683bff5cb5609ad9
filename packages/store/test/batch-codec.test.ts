// The compact chunk and results texts stored in Redis, checked against hand-written JSON, and cursors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ALL_CANCELLED,
  BatchDataError,
  ChunkResults,
  RESULT_CANCELLED,
  RESULT_FAILED,
  RESULT_NONE,
  RESULT_SENT,
  decodeChunk,
  encodeCursor,
  encodeRecipient,
  parseCursor,
} from '../src/batches/batch-codec.ts';
import { RecipientSet } from '../src/batches/recipient-set.ts';
import { BatchCursorError } from '@ttpush/contract';

test('recipients encode to the documented compact form and decode back', () => {
  const parts = [
    encodeRecipient({ to: { user: 2 } }),
    encodeRecipient({ to: { group: 7 } }),
    encodeRecipient({ to: { user: 3 }, text: 'per-recipient "text" 你好 🎉\n' }),
  ];
  const json = `[${parts.join(',')}]`;
  assert.equal(json, '[[1,2],[2,7],[1,3,"per-recipient \\"text\\" 你好 🎉\\n"]]');
  assert.deepEqual(decodeChunk(json), {
    to: [{ user: 2 }, { group: 7 }, { user: 3 }],
    texts: [undefined, undefined, 'per-recipient "text" 你好 🎉\n'],
  });
});

test('a chunk reads the same whether it is plain (read by hand) or not (parsed as JSON)', () => {
  // What JSON.parse makes of a chunk: the reference the quick reading of plain chunks must agree with.
  const reference = (json: string) => {
    const raw = JSON.parse(json) as [number, number, string?][];
    return {
      to: raw.map((e) => (e[0] === 1 ? { user: e[1] } : { group: e[1] })),
      texts: raw.map((e) => (typeof e[2] === 'string' ? e[2] : undefined)),
    };
  };
  const chunks = [
    '[]',
    '[[1,2]]',
    '[[2,7]]',
    '[[1,0]]',
    '[[1,4294967295],[2,4294967295],[1,1]]',
    '[[1,123456789012345]]',
    '[[1,2],[2,7],[1,3,"own text"]]',
    '[[1,3,"own text"],[1,2]]',
    '[ [1,2] ]',
    '[[1, 2]]',
    '[[1,2.5]]',
    '[[1,2e3]]',
    '[[1,-2]]',
    '[[1,1234567890123456]]',
  ];
  for (let n = 0; n < 50; n++) {
    const parts = Array.from({ length: 1 + (n % 7) }, (_, i) =>
      encodeRecipient({ to: i % 3 === 2 ? { group: n * 31 + i } : { user: n * 1000 + i } }),
    );
    chunks.push(`[${parts.join(',')}]`);
  }
  for (const json of chunks) assert.deepEqual(decodeChunk(json), reference(json), json);
});

test('a malformed chunk is refused with a stable code', () => {
  for (const bad of ['{}', '[[3,1]]', '[["1",2]]', '[5]', '[[0,2]]', '[[1]]']) {
    assert.throws(
      () => decodeChunk(bad),
      (err: unknown) => err instanceof BatchDataError && err.code === 'batch_data_invalid',
      bad,
    );
  }
});

test('users and groups with the same id are different recipients', () => {
  const seen = new RecipientSet();
  assert.equal(seen.add({ user: 5 }), true);
  assert.equal(seen.add({ group: 5 }), true);
  assert.equal(seen.add({ user: 5 }), false);
  assert.equal(seen.add({ group: 5 }), false);
  assert.equal(seen.add({ group: 4294967295 }), true);
  assert.equal(seen.add({ group: 4294967295 }), false);
  assert.equal(seen.add({ user: 4294967295 }), true);
  assert.equal(seen.size, 4);
});

test('the recipient set finds every repeat, and nothing else, as it grows past a million ids', () => {
  const seen = new RecipientSet();
  const ours = new Set<number>();
  let x = 12345;
  for (let i = 0; i < 1_200_000; i++) {
    // Runs of consecutive ids, ids that collide in the low bits, and random ids over the whole uint32 range.
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const id = i % 3 === 0 ? 1 + (i % 400_000) : i % 3 === 1 ? 1 + (((x >>> 12) << 12) >>> 0) : Math.max(1, x);
    assert.equal(seen.add({ user: id }), !ours.has(id), `id ${id}`);
    ours.add(id);
  }
  assert.equal(seen.size, ours.size);
});

test('results encode as [1,msg_id] / [2,"code"] / [3], partial ones with null, and decode back', () => {
  const r = new ChunkResults(4);
  r.sent(0, 17);
  r.failed(1, 'teamtalk_rejected');
  r.cancelled(2);
  assert.throws(() => r.encode(), BatchDataError);
  const partial = r.encode(true);
  assert.equal(partial, '[[1,17],[2,"teamtalk_rejected"],[3],null]');
  const back = ChunkResults.decode(partial, 4);
  assert.deepEqual([...back.states], [RESULT_SENT, RESULT_FAILED, RESULT_CANCELLED, RESULT_NONE]);
  assert.deepEqual(back.values.slice(0, 2), [17, 'teamtalk_rejected']);
  r.sent(3, 18);
  assert.equal(r.encode(), '[[1,17],[2,"teamtalk_rejected"],[3],[1,18]]');
});

test('a chunk cancelled before it started reads as cancelled throughout', () => {
  const r = ChunkResults.decode(ALL_CANCELLED, 3);
  assert.deepEqual([...r.states], [RESULT_CANCELLED, RESULT_CANCELLED, RESULT_CANCELLED]);
});

test('results that do not match their chunk are refused', () => {
  assert.throws(() => ChunkResults.decode('[[1,2]]', 2), BatchDataError);
  assert.throws(() => ChunkResults.decode('[[9]]', 1), BatchDataError);
  assert.throws(() => ChunkResults.decode('[[1,"x"]]', 1), BatchDataError);
});

test('cursors round-trip, and a cursor this API did not hand out is refused', () => {
  assert.deepEqual(parseCursor(undefined), { part: 'chunk', chunk: 0, index: 0 });
  for (const c of [
    { part: 'chunk', chunk: 12, index: 345 },
    { part: 'rejected', index: 7 },
  ] as const) {
    assert.deepEqual(parseCursor(encodeCursor(c)), c);
  }
  for (const bad of ['x', 'c1', 'c1.', 'r-1', 'c1.2.3', 'c1234567890.0']) {
    assert.throws(() => parseCursor(bad), BatchCursorError, bad);
  }
});
