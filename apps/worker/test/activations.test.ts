// A take job against a real Redis: the activations list drained once, the lanes sent side by side within the job's
// room, activations arriving meanwhile taken by the same job, and the list handed on when the job stops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Keys, conversationOf, newMessageId, type Priority, type SubmitRequest } from '@ttpush/contract';
import { LaneStore, MessageStore, ReconcilerStore } from '@ttpush/store';
import { useRedis } from '@ttpush/testkit';
import { runTake, type TakeOptions } from '../src/activations.ts';

const r = useRedis();
const OPTS: TakeOptions = { room: 3, pollMs: 5, busyMs: 2000, maxMs: 60_000 };

function stores(prefix: string) {
  const keys = new Keys(prefix, 1);
  const messages = new MessageStore(r.connect(), keys);
  const lanes = new LaneStore(r.connect(), keys);
  const accept = async (user: number, priority: Priority = 'normal') => {
    const request: SubmitRequest = { app: 'crm', from: 1, to: { user }, text: 'hi', priority };
    const conv = conversationOf(1, { user });
    const now = Date.now();
    const res = await messages.accept({ id: newMessageId(now, 0), conv, now, request });
    assert.equal(res.status, 'accepted');
    return res.status === 'accepted' && res.takeJob;
  };
  return { lanes, accept };
}

const tick = (ms = 2) => new Promise((res) => setTimeout(res, ms));

test('a take job sends every activated lane once, never more than its room at a time, and takes late arrivals', async () => {
  const { lanes, accept } = stores('ta');
  assert.equal(await accept(2), true);
  for (let u = 3; u <= 8; u++) assert.equal(await accept(u), false);
  const sent: string[] = [];
  let running = 0;
  let most = 0;
  let late: Promise<boolean> | undefined;
  const n = await runTake(
    {
      store: lanes,
      send: async (conv) => {
        running++;
        most = Math.max(most, running);
        sent.push(conv);
        // While the job runs, a new conversation is activated: no job is asked for, this one takes it.
        if (conv === 'u-1-2') late = accept(9);
        await tick(10);
        running--;
        return 'drained';
      },
      stopping: () => false,
      requeue: async () => assert.fail('nothing to requeue'),
    },
    0,
    'normal',
    OPTS,
  );
  assert.equal(await late, false, 'a worker was taking: no job asked for');
  assert.equal(n, 8);
  assert.deepEqual([...sent].sort(), ['u-1-2', 'u-1-3', 'u-1-4', 'u-1-5', 'u-1-6', 'u-1-7', 'u-1-8', 'u-1-9']);
  assert.equal(most, OPTS.room);
  // The job ended on an empty take: the next activation asks for a job again.
  assert.equal(await accept(10), true);
});

test('a lane that fails does not stop the others', async () => {
  const { lanes, accept } = stores('tf');
  for (const u of [2, 3, 4]) await accept(u);
  const sent: string[] = [];
  const n = await runTake(
    {
      store: lanes,
      send: async (conv) => {
        if (conv === 'u-1-3') throw new Error('redis went away');
        sent.push(conv);
        return 'drained';
      },
      stopping: () => false,
      requeue: async () => undefined,
    },
    0,
    'normal',
    OPTS,
  );
  assert.equal(n, 3);
  assert.deepEqual(sent.sort(), ['u-1-2', 'u-1-4']);
});

test('a stopping worker (or a job past its time) lets go and asks for a job for what is left', async () => {
  for (const reason of ['stopping', 'time'] as const) {
    const { lanes, accept } = stores(`ts-${reason}`);
    for (let u = 2; u <= 7; u++) await accept(u);
    const requeued: [number, Priority][] = [];
    let stop = false;
    const sent: string[] = [];
    const n = await runTake(
      {
        store: lanes,
        send: async (conv) => {
          sent.push(conv);
          stop = true;
          await tick(20);
          return 'drained';
        },
        stopping: () => reason === 'stopping' && stop,
        requeue: async (p, prio) => void requeued.push([p, prio]),
      },
      0,
      'normal',
      { ...OPTS, maxMs: reason === 'time' ? 0 : 60_000 },
    );
    assert.equal(n, 3, `${reason}: one take of the room`);
    assert.equal(sent.length, 3);
    assert.deepEqual(requeued, [[0, 'normal']], `${reason}: the rest handed on`);
    // Busy was cleared: the list is untaken, and the job asked for takes the other three.
    const rest = await lanes.take(0, 'normal', 10, 1000);
    assert.deepEqual(rest.convs, ['u-1-5', 'u-1-6', 'u-1-7']);
  }
});

test('the reconciler sees a list holding conversations with no taker, and not one being taken', async () => {
  const { lanes, accept } = stores('tu');
  const reconciler = new ReconcilerStore(r.connect(), new Keys('tu', 1));
  assert.deepEqual(await reconciler.untaken(0), []);
  await accept(2);
  await accept(3, 'high');
  assert.deepEqual(await reconciler.untaken(0), [
    { priority: 'high', head: 'u-1-3' },
    { priority: 'normal', head: 'u-1-2' },
  ]);
  await lanes.take(0, 'normal', 1, 60_000);
  await accept(4);
  assert.deepEqual(await reconciler.untaken(0), [{ priority: 'high', head: 'u-1-3' }], 'normal is being taken');
});

test('a job whose last lane finishes during a take that kept busy takes once more, and so clears busy', async () => {
  const { lanes, accept } = stores('tr');
  await accept(2);
  let finish: () => void = () => undefined;
  const laneDone = new Promise<void>((res) => (finish = res));
  let takes = 0;
  const store: Pick<LaneStore, 'take' | 'letGo' | 'takeAndClaim'> = {
    letGo: (p, prio) => lanes.letGo(p, prio),
    takeAndClaim: () => assert.fail('not claiming'),
    take: async (p, prio, max, busyMs, again) => {
      takes++;
      // The second take leaves with the lane in flight (again) and answers after the lane finished.
      if (takes === 2) {
        const reply = lanes.take(p, prio, max, busyMs, again);
        finish();
        await laneDone;
        await tick(5);
        return reply;
      }
      return lanes.take(p, prio, max, busyMs, again);
    },
  };
  await runTake(
    { store, send: async () => (await laneDone, 'drained'), stopping: () => false, requeue: async () => undefined },
    0,
    'normal',
    OPTS,
  );
  assert.ok(takes >= 3, 'a take after the one that kept busy');
  assert.equal(await accept(3), true, 'busy is clear: the next activation asks for a job');
});

test('a take that claims: each lane taken comes claimed with its lock, heads and first message marked sending', async () => {
  const { lanes, accept } = stores('tk');
  const keys = new Keys('tk', 1);
  const redis = r.connect();
  await accept(2);
  await accept(2);
  await accept(3);
  await accept(4);
  // u-1-3 is held by another worker; u-1-4's only message is cancelled (its lane empty).
  await redis.set(keys.lock('u-1-3'), 'other', 'PX', 60_000);
  const messages = new MessageStore(r.connect(), keys);
  const [head4] = await redis.lrange(keys.lane('u-1-4'), 0, 0);
  assert.equal((await messages.cancel(head4!, 'u-1-4')).status, 'cancelled');

  const now = Date.now();
  const got = await lanes.takeAndClaim(0, 'normal', 10, 60_000, false, {
    tokenPrefix: 'tp:',
    lockMs: 60_000,
    peek: 8,
    mark: { now, maxMessageAgeMs: 60_000 },
  });
  assert.deepEqual(
    got.taken.map((t) => [t.conv, t.token, t.claim.status]),
    [
      ['u-1-2', 'tp:u-1-2', 'claimed'],
      ['u-1-3', 'tp:u-1-3', 'busy'],
      ['u-1-4', 'tp:u-1-4', 'drained'],
    ],
  );
  const claim = got.taken[0]!.claim;
  assert.ok(claim.status === 'claimed');
  assert.equal(claim.heads.length, 2);
  assert.deepEqual(claim.marked, { createTime: Math.floor(now / 1000), floor: 0 });
  assert.equal(await redis.get(keys.lock('u-1-2')), 'tp:u-1-2');
  assert.equal(await redis.get(keys.lock('u-1-3')), 'other');
  assert.equal((await messages.record(claim.heads[0]!.id))?.status, 'sending');
  assert.equal((await messages.record(claim.heads[1]!.id))?.status, 'queued');
  // The same lane claimed by lane-claim with that token is ours still: the lock is the take's.
  const again = await lanes.claim({ conv: 'u-1-2', token: 'tp:u-1-2', lockMs: 60_000, peek: 8 });
  assert.equal(again.status, 'claimed');
});

test('runTake hands each lane to send as the take claimed it', async () => {
  const { lanes, accept } = stores('tj');
  await accept(2);
  await accept(3);
  const seen: [string, string | undefined][] = [];
  await runTake(
    {
      store: lanes,
      send: async (conv, first) => {
        seen.push([conv, first?.claim.status]);
        return 'drained';
      },
      stopping: () => false,
      requeue: async () => undefined,
      claim: () => ({ tokenPrefix: 'x:', lockMs: 5000, peek: 4 }),
    },
    0,
    'normal',
    OPTS,
  );
  assert.deepEqual(seen, [
    ['u-1-2', 'claimed'],
    ['u-1-3', 'claimed'],
  ]);
});
