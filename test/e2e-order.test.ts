// Per-conversation order with two worker processes while the sandbox reorders replies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness } from './helpers/harness.ts';
import { sendAll, storedTexts, assertExactlyOnce, type Planned } from './helpers/send-many.ts';

test('1,000 messages of one conversation through 2 workers are stored in acceptance order', async () => {
  const h = await Harness.start({ workers: 2, sandbox: { reorderDelayMs: 3 } });
  try {
    // Both directions share the conversation (one TeamTalk counter per pair); accepted one after another.
    const plan: Planned[] = Array.from({ length: 1000 }, (_, i) => ({
      from: i % 3 === 0 ? 2 : 1,
      to: i % 3 === 0 ? 1 : 2,
      text: `order ${i}`,
    }));
    // Other conversations at the same time, so the workers are busy in parallel.
    const noise: Planned[] = Array.from({ length: 300 }, (_, i) => ({
      from: 100 + (i % 30),
      to: 200,
      text: `noise ${i}`,
    }));
    const [ids] = await Promise.all([sendAll(h, plan, 1), sendAll(h, noise, 8)]);
    await h.waitTerminal(ids, 120_000);
    assert.deepEqual(
      storedTexts(h, 1, 2),
      plan.map((p) => p.text),
    );
    const msgIds = h.sandbox.store.singleMessages(1, 2).map((m: any) => m.msgId);
    assert.deepEqual(
      msgIds,
      Array.from({ length: 1000 }, (_, i) => i + 1),
    );
    assertExactlyOnce(h, noise);
  } finally {
    await h.stop();
  }
});
