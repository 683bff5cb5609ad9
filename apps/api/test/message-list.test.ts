// Listing messages newest first from the accept-time indexes, against a real redis-server with 4 partitions.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisServer } from '@ttpush/testkit';
import { Keys, type MessageView, type SubmitRequest } from '@ttpush/contract';
import { RECENT_INDEX_SIZE, decodeListCursor, encodeListCursor, listMessages, type ListQuery } from '@ttpush/store';
import { RedisMessageService } from '../src/message-service.ts';

const PARTITIONS = 4;
let server: RedisServer;
const conns: Redis[] = [];
let redis: Redis;

function conn(): Redis {
  const c = new Redis(server.url, { maxRetriesPerRequest: null });
  conns.push(c);
  return c;
}

function service(prefix: string, recordTtlMs?: number): RedisMessageService {
  return new RedisMessageService({
    redis: conn(),
    subscriber: conn(),
    queueConnection: conn(),
    prefix,
    partitions: PARTITIONS,
    ...(recordTtlMs !== undefined && { recordTtlMs }),
  });
}

const services: RedisMessageService[] = [];
function newService(prefix: string, recordTtlMs?: number): RedisMessageService {
  const s = service(prefix, recordTtlMs);
  services.push(s);
  return s;
}

before(async () => {
  server = await RedisServer.start();
  redis = conn();
});
after(async () => {
  for (const s of services) await s.close();
  for (const c of conns) c.disconnect();
  await server.stop();
});

const base = (over: Partial<SubmitRequest>): SubmitRequest => ({
  app: 'crm',
  key: 'key_aaaaaaaaaaaaaaaa',
  from: 1,
  to: { user: 2 },
  text: 'x',
  priority: 'normal',
  ...over,
});

/** Newest first as the list orders: accept time, then id. */
function newestFirst(views: MessageView[]): string[] {
  return [...views]
    .sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || (a.id < b.id ? 1 : -1))
    .map((v) => v.id);
}

async function allPages(
  s: RedisMessageService,
  q: Omit<ListQuery, 'after'>,
): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let after: ListQuery['after'];
  let pages = 0;
  for (;;) {
    const page = await s.list({ ...q, ...(after && { after }) });
    pages++;
    ids.push(...page.messages.map((m) => m.view.id));
    if (page.next === null) return { ids, pages };
    after = page.next;
    assert.ok(pages < 100, 'the pages end');
  }
}

describe('the message list', () => {
  it('merges the partitions newest first, and pages through every message exactly once', async () => {
    const s = newService('l1');
    const views: MessageView[] = [];
    for (let i = 0; i < 40; i++) {
      views.push((await s.submit(base({ from: 100 + i, to: { user: 500 + (i % 7) } }))).view);
    }
    const partitions = new Set(views.map((v) => v.id.charAt(4)));
    assert.ok(partitions.size > 1, 'the messages span several partitions');
    const first = await s.list({ scope: { app: 'crm' }, limit: 50 });
    assert.deepEqual(
      first.messages.map((m) => m.view.id),
      newestFirst(views),
    );
    assert.equal(first.next, null);
    assert.equal(first.messages[0]!.app, 'crm');
    const paged = await allPages(s, { scope: { app: 'crm' }, limit: 7 });
    assert.deepEqual(paged.ids, newestFirst(views));
    assert.equal(paged.pages, 6);
  });

  it('pages through many messages of the same millisecond exactly once, by id', async () => {
    const s = newService('l9');
    const keys = new Keys('l9', PARTITIONS);
    const views: MessageView[] = [];
    for (let i = 0; i < 80; i++) views.push((await s.submit(base({ from: 100, to: { user: 900 } }))).view);
    // All in one partition (one conversation), and all given the same accept time.
    const index = keys.appIndex('crm', Number.parseInt(views[0]!.id.charAt(4), 36));
    await redis.zadd(index, ...views.flatMap((v) => [1_700_000_000_000, v.id]));
    const expected = views
      .map((v) => v.id)
      .sort()
      .reverse();
    assert.deepEqual((await allPages(s, { scope: { app: 'crm' }, limit: 7 })).ids, expected);
    assert.deepEqual((await allPages(s, { scope: { app: 'crm' }, limit: 50 })).ids, expected);
    // A filter makes a page read several slices of the same score.
    assert.equal((await s.cancel(views[50]!.id)).ok, true);
    const cancelled = await allPages(s, { scope: { app: 'crm' }, limit: 3, statuses: new Set(['cancelled']) });
    assert.deepEqual(cancelled.ids, [views[50]!.id]);
  });

  it('reads each entry once while newer messages arrive during the page', async () => {
    const s = newService('l10');
    const keys = new Keys('l10', PARTITIONS);
    const views: MessageView[] = [];
    // One conversation (u-100-900) both ways, so one partition's index; every other one from 100.
    for (let i = 0; i < 60; i++) {
      const [from, to] = i % 2 === 0 ? [100, 900] : [900, 100];
      views.push((await s.submit(base({ from, to: { user: to } }))).view);
    }
    const index = keys.appIndex('crm', Number.parseInt(views[0]!.id.charAt(4), 36));
    // A Redis that lets a newer message in after each slice it answers from that index.
    let arrivals = 0;
    const busy = new Proxy(redis, {
      get(target, prop) {
        if (prop === 'zrevrangebyscore') {
          return async (...args: Parameters<Redis['zrevrangebyscore']>) => {
            const answer = await target.zrevrangebyscore(...args);
            if (args[0] === index) await target.zadd(index, Date.now() + 60_000, `msg_0zzzzzzzzzz${arrivals++}`);
            return answer;
          };
        }
        const v = Reflect.get(target, prop) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const page = await listMessages(busy, keys, { scope: { app: 'crm' }, from: 100, limit: 30 });
    assert.ok(arrivals >= 2, `the page read ${arrivals} slices`);
    assert.deepEqual(
      page.messages.map((m) => m.view.id),
      newestFirst(views.filter((v) => v.from === 100)),
    );
  });

  it('filters by status, sender, recipient and accept time', async () => {
    const s = newService('l2');
    const a = (await s.submit(base({ from: 1, to: { user: 2 } }))).view;
    const b = (await s.submit(base({ from: 3, to: { group: 7 } }))).view;
    const c = (await s.submit(base({ from: 1, to: { user: 4 }, sendAt: Date.now() + 3_600_000 }))).view;
    assert.equal((await s.cancel(a.id)).ok, true);
    const ids = async (q: Partial<ListQuery>) =>
      (await s.list({ scope: { app: 'crm' }, limit: 50, ...q })).messages.map((m) => m.view.id);
    assert.deepEqual(await ids({ statuses: new Set(['cancelled']) }), [a.id]);
    assert.deepEqual(await ids({ statuses: new Set(['queued', 'scheduled']) }), newestFirst([b, c]));
    assert.deepEqual(await ids({ from: 1 }), newestFirst([a, c]));
    assert.deepEqual(await ids({ toUser: 4 }), [c.id]);
    assert.deepEqual(await ids({ toGroup: 7 }), [b.id]);
    assert.deepEqual(await ids({ toUser: 7 }), []);
    const atB = Date.parse(b.created_at);
    assert.deepEqual(
      await ids({ since: atB }),
      newestFirst([a, b, c]).filter((id) => id !== a.id || Date.parse(a.created_at) >= atB),
    );
    assert.deepEqual(await ids({ until: Date.parse(a.created_at) }), []);
    assert.deepEqual(await ids({ since: Date.parse(c.created_at) + 1 }), []);
  });

  it('keeps apps apart, and lists a key of its own only what it sent', async () => {
    const s = newService('l3');
    const mine = (await s.submit(base({ app: 'crm', key: 'key_1111111111111111', listByKey: true }))).view;
    const other = (await s.submit(base({ app: 'crm', key: 'key_2222222222222222', listByKey: true }))).view;
    const shop = (await s.submit(base({ app: 'shop', key: 'key_3333333333333333' }))).view;
    const list = async (scope: ListQuery['scope']) =>
      (await s.list({ scope, limit: 50 })).messages.map((m) => m.view.id);
    assert.deepEqual(await list({ app: 'crm' }), newestFirst([mine, other]));
    assert.deepEqual(await list({ app: 'crm', key: 'key_1111111111111111' }), [mine.id]);
    assert.deepEqual(await list({ app: 'shop' }), [shop.id]);
    // A key with read_all is not indexed on its own: its messages are in the app's list only.
    assert.deepEqual(await list({ app: 'shop', key: 'key_3333333333333333' }), []);
    assert.deepEqual(await list({ all: true }), newestFirst([mine, other, shop]));
  });

  it('bounds the entries a page scans: a filtered page may be short, with a cursor to go on', async () => {
    const s = newService('l4');
    const keys = new Keys('l4', PARTITIONS);
    const wanted = (await s.submit(base({ from: 9 }))).view;
    for (let i = 0; i < 30; i++) await s.submit(base({ from: 10 + i }));
    const q: ListQuery = { scope: { app: 'crm' }, from: 9, limit: 50 };
    const p1 = await listMessages(redis, keys, q, 12);
    assert.deepEqual(p1.messages, []);
    assert.notEqual(p1.next, null);
    let page = p1;
    const found: string[] = [];
    let pages = 1;
    while (page.next !== null) {
      page = await listMessages(redis, keys, { ...q, after: page.next }, 12);
      found.push(...page.messages.map((m) => m.view.id));
      pages++;
    }
    assert.deepEqual(found, [wanted.id]);
    assert.equal(pages, 3);
  });

  it('skips an id whose record is gone', async () => {
    const s = newService('l5');
    const keys = new Keys('l5', PARTITIONS);
    const a = (await s.submit(base({}))).view;
    const b = (await s.submit(base({}))).view;
    await redis.del(keys.message(a.id));
    assert.deepEqual(
      (await s.list({ scope: { app: 'crm' }, limit: 50 })).messages.map((m) => m.view.id),
      [b.id],
    );
  });

  it('trims index entries older than the retention and expires the index with it', async () => {
    const ttl = 3_600_000;
    const s = newService('l6', ttl);
    const keys = new Keys('l6', PARTITIONS);
    const first = (await s.submit(base({ to: { user: 2 } }))).view;
    const p = Number.parseInt(first.id.charAt(4), 36);
    const index = keys.appIndex('crm', p);
    const old = 'msg_0aaaaaaaaaaaaaaaaaaaaaa';
    await redis.zadd(index, Date.now() - ttl - 60_000, old);
    await s.submit(base({ to: { user: 2 } }));
    assert.equal(await redis.zscore(index, old), null);
    assert.equal(await redis.zcard(index), 2);
    const pttl = await redis.pttl(index);
    assert.ok(pttl > ttl - 60_000 && pttl <= ttl, `pttl ${pttl}`);
  });

  it('caps the recent index of every app', async () => {
    const s = newService('l7');
    const keys = new Keys('l7', PARTITIONS);
    const first = (await s.submit(base({ to: { user: 2 } }))).view;
    const recent = keys.recentIndex(Number.parseInt(first.id.charAt(4), 36));
    const filler: (string | number)[] = [];
    for (let i = 0; i < RECENT_INDEX_SIZE + 10; i++) filler.push(1000 + i, `msg_0${String(i).padStart(12, '0')}`);
    await redis.zadd(recent, ...filler);
    const last = (await s.submit(base({ to: { user: 2 } }))).view;
    assert.equal(await redis.zcard(recent), RECENT_INDEX_SIZE);
    assert.notEqual(await redis.zscore(recent, last.id), null);
    assert.equal(await redis.zscore(recent, 'msg_0000000000000'), null);
  });

  it('does not index a repeated Idempotency-Key twice', async () => {
    const s = newService('l8');
    const a = await s.submit(base({ idempotencyKey: 'k1' }));
    const b = await s.submit(base({ idempotencyKey: 'k1' }));
    assert.equal(b.duplicate, true);
    assert.deepEqual(
      (await s.list({ scope: { app: 'crm' }, limit: 50 })).messages.map((m) => m.view.id),
      [a.view.id],
    );
  });
});

describe('list cursors', () => {
  it('round-trip, and anything else is refused', () => {
    const pos = { at: 1764900000123, id: 'msg_0mbx3k2a1c9f0e4d2b7a6q' };
    assert.deepEqual(decodeListCursor(encodeListCursor(pos)), pos);
    for (const bad of ['', 'abc', '!!', Buffer.from('12.nope').toString('base64url'), 'x'.repeat(300)]) {
      assert.equal(decodeListCursor(bad), null, bad);
    }
  });
});
