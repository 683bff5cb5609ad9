// Partitions: the hash is the published FNV-1a, message ids carry their partition, and every key of a
// conversation (and of a partition) shares one Redis Cluster slot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import calculateSlot from 'cluster-key-slot';
import { Keys, MESSAGE_ID, fnv1a, messagePartition, newMessageId, partitionOf } from '../src/index.ts';

test('fnv1a matches the published FNV-1a 32-bit vectors', () => {
  assert.equal(fnv1a(''), 0x811c9dc5);
  assert.equal(fnv1a('a'), 0xe40c292c);
  assert.equal(fnv1a('foobar'), 0xbf9cf968);
});

test('conversations that differ in a pattern still spread evenly over the partitions', () => {
  // Pairs like u-1000-2000, u-1001-2001 flip the same bits twice: a hash whose low bits are the bytes' parity
  // would put them all in half of the partitions.
  for (const n of [3, 8, 36]) {
    const counts = new Array<number>(n).fill(0);
    for (let i = 0; i < 36_000; i++) counts[partitionOf(`u-${1000 + i}-${2000 + i}`, n)]!++;
    const expected = 36_000 / n;
    for (const c of counts) assert.ok(c > expected * 0.85 && c < expected * 1.15, `${n} partitions: ${counts}`);
  }
});

test('a message id carries its partition and still matches the public id pattern', () => {
  for (let p = 0; p < 36; p++) {
    const id = newMessageId(Date.now(), p);
    assert.match(id, MESSAGE_ID);
    assert.equal(messagePartition(id), p);
  }
});

test("a conversation's keys, its messages' records and its partition's keys share one slot", () => {
  const keys = new Keys('ttp', 8);
  const seen = new Set<number>();
  for (let u = 0; u < 500; u++) {
    const conv = `u-${u}-${u + 1}`;
    const p = keys.partition(conv);
    assert.equal(p, partitionOf(conv, 8));
    seen.add(p);
    const id = newMessageId(Date.now(), p);
    const slots = new Set(
      [
        keys.message(id),
        keys.lane(conv),
        keys.lock(conv),
        keys.conv(conv),
        keys.lanes(p),
        keys.scheduled(p),
        keys.depth(p),
        keys.idempotency('app', 'k', p),
        `${keys.messagePrefix(p)}${id}`,
      ].map((k) => calculateSlot(k)),
    );
    assert.equal(slots.size, 1, conv);
  }
  assert.equal(seen.size, 8, 'conversations reach every partition');
  assert.throws(() => new Keys('ttp', 37), RangeError);
});
