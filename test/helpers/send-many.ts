/** Sends many messages with bounded concurrency and checks what the sandbox stored. */
import assert from 'node:assert/strict';
import { TeamTalkCipher } from '@ttpush/pdu';
import { STOCK_KEY, type Harness } from './harness.ts';

export interface Planned {
  from: number;
  to: number;
  text: string;
}

/** POSTs each message (sequentially per conversation when `ordered`), returns the accepted ids in plan order. */
export async function sendAll(h: Harness, plan: Planned[], concurrency = 16): Promise<string[]> {
  const ids: string[] = new Array(plan.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < plan.length) {
        const i = next++;
        const p = plan[i]!;
        for (;;) {
          const r = await h.post('/v1/messages', { from: p.from, to: { user: p.to }, content: p.text });
          if (r.status === 202) {
            ids[i] = r.body.id;
            break;
          }
          assert.equal(r.status, 503, JSON.stringify(r.body));
          await new Promise((res) => setTimeout(res, 100));
        }
      }
    }),
  );
  return ids;
}

const cipher = new TeamTalkCipher(STOCK_KEY);

/** Texts stored by the sandbox for a user pair, in msg_id order. */
export function storedTexts(h: Harness, a: number, b: number): string[] {
  return h.sandbox.store.singleMessages(a, b).map((m: any) => cipher.decryptToString(m.msgData));
}

/** Every planned text is stored exactly once in its conversation. */
export function assertExactlyOnce(h: Harness, plan: Planned[]): void {
  const byPair = new Map<string, Planned[]>();
  for (const p of plan) {
    const key = `${Math.min(p.from, p.to)}-${Math.max(p.from, p.to)}`;
    byPair.set(key, [...(byPair.get(key) ?? []), p]);
  }
  for (const [key, items] of byPair) {
    const [a, b] = key.split('-').map(Number) as [number, number];
    const texts = storedTexts(h, a, b);
    const counts = new Map<string, number>();
    for (const t of texts) counts.set(t, (counts.get(t) ?? 0) + 1);
    for (const p of items)
      assert.equal(counts.get(p.text), 1, `${p.text} stored ${counts.get(p.text) ?? 0} times in ${key}`);
    assert.equal(
      texts.length,
      items.length,
      `conversation ${key} holds ${texts.length} messages, expected ${items.length}`,
    );
  }
}
