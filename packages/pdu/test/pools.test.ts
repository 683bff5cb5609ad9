/**
 * DbProxyPool and RoutePool against fake servers: load spreading, a server dying, draining with no
 * request lost, POOL_UNAVAILABLE, and route master failover observed through IMRoleSet.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CommandId,
  ConnectionError,
  DbProxyPool,
  RoutePool,
  decodeBody,
  type DbProxyPoolOptions,
  type RoutePoolOptions,
} from '@ttpush/pdu';
import { FakeTeamTalkServer, FakeTimers, freePort, pduVector, type Handler } from '@ttpush/testkit';
import { failOnLeaks, onCleanup } from './helpers/leaks.ts';
import { msgData } from './helpers/messages.ts';
import { once, until } from './helpers/until.ts';

failOnLeaks();

async function startServer(handler?: Handler): Promise<FakeTeamTalkServer> {
  const server = await FakeTeamTalkServer.start(handler ? { handler } : {});
  onCleanup(() => server.stop());
  return server;
}

function dbPool(servers: { address: { host: string; port: number } }[], options: Partial<DbProxyPoolOptions> = {}) {
  const pool = new DbProxyPool({
    addresses: servers.map((s) => s.address),
    connectionsPerServer: 1,
    retryStrategy: () => 20,
    ...options,
  });
  onCleanup(() => pool.close());
  return pool;
}

function routePool(servers: { address: { host: string; port: number } }[], options: Partial<RoutePoolOptions> = {}) {
  const pool = new RoutePool({ addresses: servers.map((s) => s.address), retryStrategy: () => 20, ...options });
  onCleanup(() => pool.close());
  return pool;
}

function send(pool: DbProxyPool, i: number) {
  return pool.request(CommandId.MSG_DATA, msgData(i), { responseCommand: CommandId.MSG_DATA });
}

/** Two servers holding every reply, and a started pool of two connections to each, all four ready. */
async function holdingPair() {
  const a = await startServer();
  const b = await startServer();
  a.mode = 'hold';
  b.mode = 'hold';
  const pool = dbPool([a, b], { connectionsPerServer: 2 });
  await pool.start();
  await until(() => pool.status().every((m) => m.status === 'ready'), 'all four connections ready');
  return { a, b, pool };
}

function isConnError(code: string) {
  return (err: unknown) => err instanceof ConnectionError && err.code === code;
}

function senders(server: FakeTeamTalkServer): number[] {
  return server.framesOf(CommandId.MSG_DATA).map((f) => decodeBody(CommandId.MSG_DATA, f.body).fromUserId);
}

describe('DbProxyPool', { timeout: 60_000 }, () => {
  it('spreads requests over every ready connection of every server', async () => {
    const { a, b, pool } = await holdingPair();
    const replies = Array.from({ length: 40 }, (_, i) => send(pool, i));
    assert.deepEqual(
      pool.status().map((m) => m.inFlight),
      [10, 10, 10, 10],
    );
    await a.waitFor(() => a.heldCount === 20, 'twenty at a');
    await b.waitFor(() => b.heldCount === 20, 'twenty at b');
    a.releaseHeld();
    b.releaseHeld();
    const got = await Promise.all(replies);
    got.forEach((r, i) => assert.equal(r.fromUserId, 1000 + i));
  });

  it('sends a request to one server when asked (address), and reports each unanswered request with its server', async () => {
    const a = await startServer();
    const b = await startServer();
    b.mode = 'hold';
    const pool = dbPool([a, b], { requestTimeoutMs: 200 });
    await pool.start();
    await until(() => pool.status().every((m) => m.status === 'ready'), 'both ready');
    const atB = `${b.address.host}:${b.address.port}`;
    const unanswered: string[] = [];
    pool.on('unanswered', (member) => unanswered.push(member.address));
    // b holds everything: each request pinned to it times out, though a would answer.
    for (let i = 0; i < 3; i++) {
      await assert.rejects(
        pool.request(CommandId.MSG_DATA, msgData(i), { responseCommand: CommandId.MSG_DATA, address: atB }),
        (err: unknown) => isConnError('REQUEST_TIMEOUT')(err) && (err as ConnectionError).address === atB,
      );
    }
    assert.deepEqual(senders(a), []);
    assert.deepEqual(unanswered, [atB, atB, atB]);
    // No ready connection to that server: refused at once, not sent elsewhere.
    await pool.close();
    await assert.rejects(
      pool.request(CommandId.MSG_DATA, msgData(9), { responseCommand: CommandId.MSG_DATA, address: atB }),
      isConnError('POOL_UNAVAILABLE'),
    );
    b.releaseHeld();
  });

  it('sends to the least busy connection', async () => {
    const a = await startServer();
    const b = await startServer();
    a.mode = 'hold';
    const pool = dbPool([a, b]);
    await pool.start();
    await until(() => pool.ready && pool.status().every((m) => m.status === 'ready'), 'both ready');
    // a holds its replies, b answers at once: once a has one in flight, every request goes to b.
    const first = send(pool, 0);
    assert.deepEqual(
      pool.status().map((m) => m.inFlight),
      [1, 0],
    );
    for (let i = 1; i < 10; i++) await send(pool, i);
    assert.deepEqual(senders(a), [1000]);
    assert.deepEqual(
      senders(b),
      Array.from({ length: 9 }, (_, i) => 1001 + i),
    );
    a.releaseHeld();
    await first;
  });

  it('fails the in-flight requests of a server that dies with CONN_CLOSED and sends new ones to the others', async () => {
    const a = await startServer();
    const b = await startServer();
    a.mode = 'hold';
    b.mode = 'hold';
    const pool = dbPool([a, b]);
    await pool.start();
    await until(() => pool.status().every((m) => m.status === 'ready'), 'both ready');
    const first = Array.from({ length: 10 }, (_, i) =>
      send(pool, i).then(
        (r) => ({ ok: true as const, r }),
        (err: unknown) => ({ ok: false as const, err }),
      ),
    );
    await a.waitFor(() => a.heldCount === 5, 'five at a');
    await b.waitFor(() => b.heldCount === 5, 'five at b');
    const atA = new Set(senders(a));
    await a.stop();
    await until(() => pool.status()[0]!.status !== 'ready', 'a lost');
    const more = Array.from({ length: 10 }, (_, i) => send(pool, 100 + i));
    await b.waitFor(() => b.heldCount === 15, 'the new ones at b');
    b.releaseHeld();
    const settled = await Promise.all(first);
    settled.forEach((s, i) => {
      if (atA.has(1000 + i)) assert.ok(!s.ok && isConnError('CONN_CLOSED')(s.err), `request ${i} failed with a`);
      else assert.ok(s.ok && s.r.fromUserId === 1000 + i, `request ${i} answered by b`);
    });
    assert.equal((await Promise.all(more)).length, 10);
  });

  it('moves new work off a draining server and loses no request in flight (OTHER_STOP_RECV_PACKET)', async () => {
    const { a, b, pool } = await holdingPair();
    const before = Array.from({ length: 20 }, (_, i) => send(pool, i));
    await a.waitFor(() => a.heldCount === 10, 'ten at a');
    a.stopReceiving();
    await until(
      () => pool.status().filter((m) => m.status === 'draining').length === 2,
      'both connections to a draining',
    );
    const after = Array.from({ length: 20 }, (_, i) => send(pool, 100 + i));
    await b.waitFor(() => b.heldCount === 30, 'every new request at b');
    assert.equal(a.framesOf(CommandId.MSG_DATA).length, 10, 'a got nothing new');

    // a answers what it has, then exits as db_proxy_server does about 4 s after SIGTERM.
    a.releaseHeld();
    b.releaseHeld();
    const all = await Promise.all([...before, ...after]);
    assert.deepEqual(
      all.map((r) => r.fromUserId),
      [...Array.from({ length: 20 }, (_, i) => 1000 + i), ...Array.from({ length: 20 }, (_, i) => 1100 + i)],
    );
    await a.stop();
    await until(() => pool.status()[0]!.status !== 'draining', 'a gone');
    assert.equal(pool.ready, true);
  });

  it('rejects with POOL_UNAVAILABLE naming each server and its state when none is ready', async () => {
    const port = await freePort();
    const pool = dbPool([{ address: { host: '127.0.0.1', port } }], { connectionsPerServer: 2 });
    await assert.rejects(pool.start(), isConnError('POOL_UNAVAILABLE'));
    await assert.rejects(send(pool, 1), (err: unknown) => {
      assert.ok(isConnError('POOL_UNAVAILABLE')(err));
      const message = (err as Error).message;
      assert.match(message, new RegExp(`127\\.0\\.0\\.1:${port}#0 (reconnecting|connecting)`));
      assert.match(message, new RegExp(`127\\.0\\.0\\.1:${port}#1 (reconnecting|connecting)`));
      return true;
    });
    assert.equal(pool.ready, false);
  });

  it('waitReady() rejects after its timeout, and resolves when a server comes up', async () => {
    const port = await freePort();
    const timers = new FakeTimers();
    const pool = dbPool([{ address: { host: '127.0.0.1', port } }], { timers });
    void pool.start().catch(() => {});
    const late = pool.waitReady(1000);
    timers.advance(1000);
    await assert.rejects(late, isConnError('POOL_UNAVAILABLE'));

    const ready = pool.waitReady(60_000);
    const server = await FakeTeamTalkServer.start({ port });
    onCleanup(() => server.stop());
    // Reconnect attempts run on the fake clock: move it until one lands.
    while (!pool.ready) {
      timers.advance(20);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await ready;
  });

  it('refuses with POOL_BUSY when every window is full, and emits drain when room comes back', async () => {
    const a = await startServer();
    a.mode = 'hold';
    const pool = dbPool([a], { maxInFlight: 2 });
    await pool.start();
    const held = [send(pool, 1), send(pool, 2)];
    assert.equal(pool.canRequest, false);
    await assert.rejects(send(pool, 3), isConnError('POOL_BUSY'));
    await a.waitFor(() => a.heldCount === 2, 'two held');
    const drained = once(pool, 'drain');
    a.releaseHeld();
    await drained;
    await Promise.all(held);
    assert.equal(pool.canRequest, true);
  });

  it('emits drain for a caller that stopped at canRequest === false without being refused', async () => {
    const a = await startServer();
    a.mode = 'hold';
    const pool = dbPool([a], { maxInFlight: 3, connectionsPerServer: 2 });
    await pool.start();
    await until(() => pool.status().every((m) => m.status === 'ready'), 'both ready');
    const held: Promise<unknown>[] = [];
    while (pool.canRequest) held.push(send(pool, held.length));
    assert.equal(held.length, 6);
    await a.waitFor(() => a.heldCount === 6, 'six held');
    const drained = once(pool, 'drain');
    a.releaseHeld();
    await drained;
    await Promise.all(held);
  });

  it('emits status for every connection change and reports per-connection state', async () => {
    const a = await startServer();
    const pool = dbPool([a]);
    const seen: string[] = [];
    pool.on('status', (m, prev) => seen.push(`${m.name} ${prev}->${m.status}`));
    await pool.start();
    const name = `127.0.0.1:${a.port}#0`;
    assert.deepEqual(seen, [`${name} idle->connecting`, `${name} connecting->ready`]);
    assert.deepEqual(pool.status(), [{ address: `127.0.0.1:${a.port}`, name, status: 'ready', inFlight: 0 }]);
    await pool.close();
    assert.equal(seen.at(-1), `${name} ready->closed`);
  });
});

describe('RoutePool', { timeout: 60_000 }, () => {
  it('elects the first ready server in configured order and announces IMRoleSet to each', async () => {
    const a = await startServer();
    const b = await startServer();
    const pool = routePool([a, b]);
    await pool.start();
    assert.equal(pool.master, `127.0.0.1:${a.port}`);
    await a.waitFor(() => a.roleSets.length === 1, 'a role');
    await b.waitFor(() => b.roleSets.length === 1, 'b role');
    assert.deepEqual(a.roleSets, [1]);
    assert.deepEqual(b.roleSets, [0]);

    assert.equal(pool.forward(CommandId.MSG_DATA, msgData(1)), true);
    pool.forwardRaw(pduVector('msg_data_stored').bytes);
    await a.waitFor(() => a.framesOf(CommandId.MSG_DATA).length === 2, 'two forwards at a');
    assert.equal(b.framesOf(CommandId.MSG_DATA).length, 0);
    assert.deepEqual(a.framesOf(CommandId.MSG_DATA)[1]!.body, pduVector('msg_data_stored').bytes.subarray(16));
  });

  it('fails over to the next ready server, which announces master, and keeps it when the old one returns', async () => {
    const a = await startServer();
    const b = await startServer();
    const pool = routePool([a, b]);
    const masters: (string | undefined)[] = [];
    pool.on('master', (m) => masters.push(m));
    await pool.start();
    const aAddress = `127.0.0.1:${a.port}`;
    const bAddress = `127.0.0.1:${b.port}`;
    await a.waitFor(() => a.roleSets.length === 1, 'a role');
    await b.waitFor(() => b.roleSets.length === 1, 'b role');

    await a.stop();
    await b.waitFor(() => b.roleSets.length === 2, 'b becomes master');
    assert.deepEqual(b.roleSets, [0, 1]);
    assert.equal(pool.master, bAddress);
    assert.deepEqual(masters, [aAddress, bAddress]);
    pool.forward(CommandId.MSG_DATA, msgData(2));
    await b.waitFor(() => b.framesOf(CommandId.MSG_DATA).length === 1, 'forward at b');

    await a.restart();
    await a.waitFor(() => a.roleSets.length === 2, 'a announces again');
    assert.deepEqual(a.roleSets, [1, 0], 'a comes back as a slave');
    assert.equal(pool.master, bAddress);
    pool.forward(CommandId.MSG_DATA, msgData(3));
    await b.waitFor(() => b.framesOf(CommandId.MSG_DATA).length === 2, 'still forwarding to b');
    assert.equal(a.framesOf(CommandId.MSG_DATA).length, 0);
  });

  it('throws POOL_UNAVAILABLE from forward() when no route_server is ready, and recovers', async () => {
    const a = await startServer();
    const pool = routePool([a]);
    await pool.start();
    await a.waitFor(() => a.roleSets.length === 1, 'a announces master');
    const lost = once(pool, 'master');
    await a.stop();
    assert.deepEqual(await lost, [undefined]);
    assert.throws(() => pool.forward(CommandId.MSG_DATA, msgData(1)), isConnError('POOL_UNAVAILABLE'));
    assert.throws(() => pool.forwardRaw(Buffer.alloc(16)), isConnError('POOL_UNAVAILABLE'));
    const back = once(pool, 'master');
    await a.restart();
    assert.deepEqual(await back, [`127.0.0.1:${a.port}`]);
    await a.waitFor(() => a.roleSets.length === 2, 'a announces master again');
    assert.deepEqual(a.roleSets, [1, 1]);
  });

  it('rejects start() with POOL_UNAVAILABLE when no server is up, then elects the first that connects', async () => {
    const port = await freePort();
    const pool = routePool([{ address: { host: '127.0.0.1', port } }]);
    await assert.rejects(pool.start(), isConnError('POOL_UNAVAILABLE'));
    const server = await FakeTeamTalkServer.start({ port });
    onCleanup(() => server.stop());
    await pool.waitReady(5000);
    await server.waitFor(() => server.roleSets.length === 1, 'role');
    assert.deepEqual(server.roleSets, [1]);
  });

  it('re-emits frames route_server relays, and ignores them otherwise', async () => {
    const a = await startServer();
    const pool = routePool([a]);
    await pool.start();
    const relayed = once<[unknown, string]>(pool, 'frame');
    a.broadcast(pduVector('msg_data_push').bytes);
    const [frame, address] = await relayed;
    assert.equal((frame as { commandId: number }).commandId, CommandId.MSG_DATA);
    assert.equal(address, `127.0.0.1:${a.port}`);
    assert.equal(pool.master, `127.0.0.1:${a.port}`);
  });
});
