import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MESSAGE_ID, messagePartition, newMessageId } from '../src/index.ts';

test('message ids drawn from the random pool are distinct across refills, well-formed, and carry their partition', () => {
  const now = Date.now();
  const seen = new Set<string>();
  // 4 KiB of pool is 512 ids: 5,000 ids in the same millisecond cross nine refills.
  for (let i = 0; i < 5000; i++) {
    const id = newMessageId(now, i % 8);
    assert.match(id, MESSAGE_ID);
    assert.equal(messagePartition(id), i % 8);
    seen.add(id);
  }
  assert.equal(seen.size, 5000);
});
