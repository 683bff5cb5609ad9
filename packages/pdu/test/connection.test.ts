/**
 * TeamTalkConnection against a fake server speaking the real protocol: correlation, timeouts,
 * reconnects, draining, heartbeats (with fake timers), protocol faults and backpressure.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CommandId,
  ConnectionError,
  ProtocolError,
  TeamTalkConnection,
  decodeBody,
  encodeFrame,
  encodePdu,
  type ConnectionStatus,
  type Frame,
  type TeamTalkConnectionOptions,
} from '@ttpush/pdu';
import { FakeTeamTalkServer, FakeTimers, freePort, pduVector, type Handler } from '@ttpush/testkit';
import { captureLogger } from './helpers/capture-logger.ts';
import { failOnLeaks, onCleanup } from './helpers/leaks.ts';
import { msgData } from './helpers/messages.ts';
import { Prng } from './helpers/prng.ts';
import { once, until } from './helpers/until.ts';

failOnLeaks();

type Options = Partial<TeamTalkConnectionOptions>;

async function startServer(handler?: Handler): Promise<FakeTeamTalkServer> {
  const server = await FakeTeamTalkServer.start(handler ? { handler } : {});
  onCleanup(() => server.stop());
  return server;
}

/** A connection to `server` with a fast fixed reconnect delay, closed when the test ends. */
function connection(server: { port: number }, options: Options = {}): TeamTalkConnection {
  const conn = new TeamTalkConnection({
    host: '127.0.0.1',
    port: server.port,
    retryStrategy: () => 20,
    ...options,
  });
  onCleanup(() => conn.close());
  return conn;
}

function sendMsg(conn: TeamTalkConnection, i: number, timeoutMs?: number) {
  return conn.request(CommandId.MSG_DATA, msgData(i), {
    responseCommand: CommandId.MSG_DATA,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
}

function isConnError(code: string) {
  return (err: unknown) => err instanceof ConnectionError && err.code === code;
}

function statusLog(conn: TeamTalkConnection): ConnectionStatus[] {
  const log: ConnectionStatus[] = [conn.status];
  conn.on('status', (next) => log.push(next));
  return log;
}

describe('TeamTalkConnection requests', { timeout: 60_000 }, () => {
  it('connects, sends a request with its own 8-byte attach_data, and resolves with the reply', async () => {
    const server = await startServer();
    const conn = connection(server);
    const statuses = statusLog(conn);
    await conn.connect();
    assert.equal(conn.status, 'ready');

    const reply = await sendMsg(conn, 1);
    assert.equal(reply.msgId, 1);
    assert.equal(reply.fromUserId, 1001);
    assert.equal(reply.toSessionId, 2001);
    assert.equal(Buffer.from(reply.msgData).toString(), 'text 1');
    assert.equal(conn.inFlight, 0);

    const onWire = decodeBody(CommandId.MSG_DATA, server.framesOf(CommandId.MSG_DATA)[0]!.body);
    assert.equal(onWire.attachData.length, 8);
    assert.deepEqual(Buffer.from(reply.attachData), Buffer.from(onWire.attachData));
    assert.deepEqual(statuses, ['idle', 'connecting', 'ready']);
  });

  it('gives each request a distinct attach_data and seq_num, with one prefix per connection', async () => {
    const server = await startServer();
    const conn = connection(server);
    await conn.connect();
    await Promise.all([sendMsg(conn, 1), sendMsg(conn, 2), sendMsg(conn, 3)]);
    const frames = server.framesOf(CommandId.MSG_DATA);
    const attach = frames.map((f) => Buffer.from(decodeBody(CommandId.MSG_DATA, f.body).attachData));
    assert.equal(new Set(attach.map((a) => a.toString('hex'))).size, 3);
    assert.equal(new Set(attach.map((a) => a.subarray(0, 4).toString('hex'))).size, 1);
    assert.equal(new Set(frames.map((f) => f.seqNum)).size, 3);
  });

  it('supersedes attach_data given by the caller', async () => {
    const server = await startServer();
    const conn = connection(server);
    await conn.connect();
    const reply = await conn.request(
      CommandId.MSG_DATA,
      { ...msgData(1), attachData: Buffer.from('caller-owned') },
      { responseCommand: CommandId.MSG_DATA },
    );
    assert.equal(reply.attachData.length, 8);
  });

  it('matches 10,000 pipelined requests to their replies when the replies come back shuffled', async () => {
    const server = await startServer();
    server.mode = 'hold';
    const conn = connection(server, { maxInFlight: 10_000 });
    await conn.connect();
    const n = 10_000;
    const replies = Array.from({ length: n }, (_, i) => sendMsg(conn, i));
    assert.equal(conn.inFlight, n);
    await server.waitFor(() => server.heldCount === n, `${n} requests held`);
    server.releaseHeld(new Prng(42));
    const got = await Promise.all(replies);
    got.forEach((reply, i) => {
      assert.equal(reply.fromUserId, 1000 + i);
      assert.equal(reply.toSessionId, 2000 + i);
      assert.equal(reply.createTime, 1764288000 + i);
    });
    // msg_ids were handed out in arrival order; shuffled replies still land on their own request.
    assert.deepEqual(
      got.map((r) => r.msgId),
      Array.from({ length: n }, (_, i) => i + 1),
    );
    assert.equal(conn.inFlight, 0);
  });

  it('times out requests the server drops, while the others succeed (fake timers)', async () => {
    const server = await startServer((frame, peer, srv) => {
      const req = decodeBody(CommandId.MSG_DATA, frame.body);
      // Like db_proxy_server for a group the sender is not in: no reply at all (protocol notes §6).
      if (req.toSessionId % 2 === 1) return;
      peer.reply(frame, CommandId.MSG_DATA, { ...req, msgId: srv.nextMsgId++ });
    });
    const timers = new FakeTimers();
    const conn = connection(server, { timers, requestTimeoutMs: 5000 });
    await conn.connect();
    const results = Array.from({ length: 10 }, (_, i) =>
      sendMsg(conn, i).then(
        (reply) => ({ ok: true as const, reply }),
        (err: unknown) => ({ ok: false as const, err }),
      ),
    );
    await until(() => conn.inFlight === 5, 'the five answered requests to resolve');
    timers.advance(4999);
    assert.equal(conn.inFlight, 5);
    timers.advance(1);
    const settled = await Promise.all(results);
    settled.forEach((r, i) => {
      if (i % 2 === 0) assert.ok(r.ok && r.reply.toSessionId === 2000 + i, `request ${i} answered`);
      else assert.ok(!r.ok && isConnError('REQUEST_TIMEOUT')(r.err), `request ${i} timed out`);
    });
    assert.equal(conn.inFlight, 0);
    assert.equal(conn.status, 'ready');
  });

  it('a timeout says which server, and whether it answered others meanwhile (a parked thread) or nothing (a stall)', async () => {
    let answering = true;
    const server = await startServer((frame, peer, srv) => {
      const req = decodeBody(CommandId.MSG_DATA, frame.body);
      if (!answering || req.toSessionId % 2 === 1) return;
      peer.reply(frame, CommandId.MSG_DATA, { ...req, msgId: srv.nextMsgId++ });
    });
    const timers = new FakeTimers();
    const conn = connection(server, { timers, requestTimeoutMs: 1000 });
    const events: [number, boolean][] = [];
    conn.on('unanswered', (command, alive) => events.push([command, alive]));
    await conn.connect();
    // Dropped while the server keeps answering the requests sent after it.
    const dropped = sendMsg(conn, 1).catch((err: unknown) => err);
    timers.advance(600);
    await sendMsg(conn, 2);
    timers.advance(400);
    const parked = (await dropped) as ConnectionError;
    assert.ok(isConnError('REQUEST_TIMEOUT')(parked));
    assert.equal(parked.address, `${server.address.host}:${server.address.port}`);
    assert.equal(parked.answeredMeanwhile, true);
    // The server stops answering anything: the requests sent just before are not "answered meanwhile".
    await sendMsg(conn, 4);
    answering = false;
    const stalled = sendMsg(conn, 6).catch((err: unknown) => err);
    timers.advance(1000);
    const silent = (await stalled) as ConnectionError;
    assert.ok(isConnError('REQUEST_TIMEOUT')(silent));
    assert.equal(silent.answeredMeanwhile, false);
    assert.deepEqual(events, [
      [CommandId.MSG_DATA, true],
      [CommandId.MSG_DATA, false],
    ]);
  });

  it('honours a per-request timeout shorter than the default', async () => {
    const server = await startServer(() => {});
    const timers = new FakeTimers();
    const conn = connection(server, { timers, requestTimeoutMs: 5000 });
    await conn.connect();
    const long = sendMsg(conn, 1);
    const short = sendMsg(conn, 2, 100);
    timers.advance(100);
    await assert.rejects(short, isConnError('REQUEST_TIMEOUT'));
    assert.equal(conn.inFlight, 1);
    timers.advance(4900);
    await assert.rejects(long, isConnError('REQUEST_TIMEOUT'));
  });

  it('logs and drops a late reply that matches no request in flight', async () => {
    const server = await startServer(() => {});
    const timers = new FakeTimers();
    const { logger, lines } = captureLogger();
    const conn = connection(server, { timers, logger, requestTimeoutMs: 1000 });
    const frames: Frame[] = [];
    conn.on('frame', (f) => frames.push(f));
    await conn.connect();
    const req = sendMsg(conn, 1);
    await server.waitFor(() => server.received.length === 1, 'the request');
    timers.advance(1000);
    await assert.rejects(req, isConnError('REQUEST_TIMEOUT'));
    const [peer] = server.peers;
    const frame = server.received[0]!;
    peer!.write(
      encodePdu(CommandId.MSG_DATA, { ...decodeBody(CommandId.MSG_DATA, frame.body), msgId: 9 }, frame.seqNum),
    );
    await until(() => lines.some((l) => l.level === 'warn' && /matches no request/.test(l.msg)), 'the warning');
    assert.equal(frames.length, 0, 'not passed on as an unsolicited frame');
    assert.equal(conn.status, 'ready');
  });

  it('fails a request answered with the wrong command (REQUEST_REPLY_MISMATCH), and only that one', async () => {
    const server = await startServer((frame, peer) => {
      const req = decodeBody(CommandId.MSG_DATA, frame.body);
      if (req.fromUserId === 1001) {
        peer.reply(frame, CommandId.MSG_GET_LATEST_MSG_ID_RSP, {
          userId: 1,
          sessionType: 1,
          sessionId: 2,
          latestMsgId: 3,
          attachData: req.attachData,
        });
      } else peer.reply(frame, CommandId.MSG_DATA, { ...req, msgId: 7 });
    });
    const conn = connection(server);
    await conn.connect();
    const [bad, good] = await Promise.allSettled([sendMsg(conn, 1), sendMsg(conn, 2)]);
    assert.ok(bad.status === 'rejected' && isConnError('REQUEST_REPLY_MISMATCH')(bad.reason));
    assert.ok(good.status === 'fulfilled' && good.value.msgId === 7);
    assert.equal(conn.status, 'ready');
  });

  it('refuses requests at once when not ready, and a command that cannot carry attach_data', async () => {
    const server = await startServer();
    const conn = connection(server);
    await assert.rejects(sendMsg(conn, 1), isConnError('CONN_NOT_READY'));
    assert.throws(() => conn.send(CommandId.OTHER_HEARTBEAT, {}), isConnError('CONN_NOT_READY'));
    await conn.connect();
    await assert.rejects(
      // A caller bypassing the types: MSG_DATA_ACK has no attach_data field.
      conn.request(CommandId.MSG_DATA_ACK as never, {} as never, { responseCommand: CommandId.MSG_DATA_ACK }),
      TypeError,
    );
    await conn.close();
    await assert.rejects(sendMsg(conn, 1), isConnError('CONN_CLOSED'));
    await assert.rejects(conn.connect(), isConnError('CONN_CLOSED'));
    assert.equal(server.framesOf(CommandId.MSG_DATA).length, 0);
  });

  it('emits unsolicited frames (route_server relays, notifies, unknown commands) and consumes heartbeats', async () => {
    const server = await startServer();
    const { logger, lines } = captureLogger();
    const conn = connection(server, { logger });
    const frames: Frame[] = [];
    conn.on('frame', (f) => frames.push(f));
    await conn.connect();
    await sendMsg(conn, 1); // from now on, replies are looked for in every frame
    const unknown = encodeFrame({ commandId: 0x0215, seqNum: 4 }, Buffer.from([1, 2, 3]));
    server.broadcast(
      Buffer.concat([
        pduVector('heartbeat').bytes,
        pduVector('msg_data_push').bytes,
        unknown,
        encodePdu(CommandId.GROUP_CHANGE_MEMBER_NOTIFY, {
          userId: 1,
          changeType: 1,
          groupId: 5,
          curUserIdList: [1, 2],
          chgUserIdList: [2],
        }),
        // Another peer's relayed message: someone else's attach_data.
        pduVector('msg_data_stored').bytes,
      ]),
    );
    await until(() => frames.length === 4, 'four frames');
    assert.deepEqual(
      frames.map((f) => f.commandId),
      [0x0301, 0x0215, 0x040b, 0x0301],
    );
    assert.ok(lines.some((l) => l.level === 'debug' && /do not decode/.test(l.msg)));
  });
});

describe('TeamTalkConnection reconnects', { timeout: 60_000 }, () => {
  it('fails in-flight requests with CONN_CLOSED and reconnects when the server restarts on the same port', async () => {
    const server = await startServer();
    server.mode = 'hold';
    const conn = connection(server);
    const statuses = statusLog(conn);
    const errors: Error[] = [];
    conn.on('error', (err) => errors.push(err));
    await conn.connect();
    const inFlight = sendMsg(conn, 1);
    await server.waitFor(() => server.heldCount === 1, 'the request');
    await server.stop();
    await assert.rejects(inFlight, isConnError('CONN_CLOSED'));
    await until(() => conn.status === 'reconnecting' || conn.status === 'connecting', 'a reconnect attempt');
    await assert.rejects(sendMsg(conn, 2), isConnError('CONN_NOT_READY'));

    await server.restart();
    server.mode = 'reply';
    await once(conn, 'ready');
    const reply = await sendMsg(conn, 3);
    assert.equal(reply.fromUserId, 1003);
    assert.equal(server.accepted, 2);
    assert.deepEqual(statuses.slice(0, 4), ['idle', 'connecting', 'ready', 'reconnecting']);
    assert.equal(statuses.at(-1), 'ready');
  });

  it('rejects connect() when nothing listens, keeps retrying, and becomes ready when the server appears', async () => {
    const port = await freePort();
    const conn = connection({ port });
    await assert.rejects(conn.connect(), isConnError('CONN_REFUSED'));
    assert.ok(conn.status === 'reconnecting' || conn.status === 'connecting');
    const server = await FakeTeamTalkServer.start({ port });
    onCleanup(() => server.stop());
    await conn.connect();
    assert.equal(conn.status, 'ready');
    assert.equal((await sendMsg(conn, 1)).msgId, 1);
  });

  it('stops for good when retryStrategy returns null', async () => {
    const port = await freePort();
    const attempts: number[] = [];
    const conn = connection({ port }, { retryStrategy: (n) => (attempts.push(n), n < 3 ? 5 : null) });
    await assert.rejects(conn.connect(), isConnError('CONN_REFUSED'));
    await until(() => conn.status === 'closed', 'the connection to give up');
    assert.deepEqual(attempts, [1, 2, 3]);
  });

  it('close() fails in-flight requests with CONN_CLOSED, is idempotent, and never reconnects', async () => {
    const server = await startServer(() => {});
    const timers = new FakeTimers();
    const conn = connection(server, { timers });
    await conn.connect();
    const inFlight = sendMsg(conn, 1);
    await server.waitFor(() => server.received.length === 1, 'the request');
    const first = conn.close();
    assert.equal(conn.close(), first);
    await assert.rejects(inFlight, isConnError('CONN_CLOSED'));
    await first;
    assert.equal(conn.status, 'closed');
    assert.equal(timers.pendingCount, 0, 'no heartbeat, timeout or reconnect timer left');
    await server.waitFor(() => server.peers.size === 0, 'the server to see the close');
    assert.equal(server.accepted, 1);
  });

  it('fails in-flight requests and reconnects on a protocol fault (a length of 0 from the server)', async () => {
    const server = await startServer(() => {});
    const conn = connection(server);
    const errors: Error[] = [];
    conn.on('error', (err) => errors.push(err));
    await conn.connect();
    const inFlight = sendMsg(conn, 1);
    await server.waitFor(() => server.received.length === 1, 'the request');
    server.broadcast(Buffer.alloc(16));
    await assert.rejects(inFlight, (err: unknown) => {
      assert.ok(isConnError('CONN_CLOSED')(err));
      const cause = (err as Error).cause;
      return cause instanceof ProtocolError && cause.code === 'PDU_LENGTH_TOO_SMALL';
    });
    assert.ok(errors.some((e) => e instanceof ProtocolError && e.code === 'PDU_LENGTH_TOO_SMALL'));
    await server.waitFor(() => server.accepted === 2, 'the reconnect');
    await until(() => conn.status === 'ready', 'ready again');
    server.handler = (frame, peer) =>
      peer.reply(frame, CommandId.MSG_DATA, { ...decodeBody(CommandId.MSG_DATA, frame.body), msgId: 5 });
    assert.equal((await sendMsg(conn, 2)).msgId, 5);
  });

  it('treats a PDU over maxPduLength as a protocol fault, and survives it without an error listener', async () => {
    const server = await startServer();
    const { logger, lines } = captureLogger();
    const conn = connection(server, { maxPduLength: 64, logger });
    await conn.connect();
    server.broadcast(pduVector('msg_data_stored').bytes); // 94 bytes
    await server.waitFor(() => server.accepted === 2, 'the reconnect');
    assert.ok(lines.some((l) => l.level === 'error' && /exceeds the maximum/.test(l.msg)));
  });
});

describe('TeamTalkConnection heartbeats (fake timers)', { timeout: 60_000 }, () => {
  it('sends IMHeartBeat every interval while connected', async () => {
    const server = await startServer();
    const timers = new FakeTimers();
    const conn = connection(server, { timers, heartbeatIntervalMs: 5000 });
    await conn.connect();
    timers.advance(4999);
    timers.advance(1);
    await server.waitFor(() => server.heartbeats.length === 1, 'one heartbeat');
    timers.advance(10_000);
    await server.waitFor(() => server.heartbeats.length === 3, 'three heartbeats');
  });

  it('stays up while any bytes arrive, declares the server dead after deadAfterMs of silence, and reconnects', async () => {
    const server = await startServer(() => {});
    const timers = new FakeTimers();
    const conn = connection(server, {
      timers,
      heartbeatIntervalMs: 5000,
      deadAfterMs: 30_000,
      retryStrategy: () => 1000,
    });
    const errors: Error[] = [];
    conn.on('error', (err) => errors.push(err));
    await conn.connect();

    // The server talks every 20 s (fake time): 80 s pass and the connection stays up. The unknown
    // frame after the heartbeat is emitted as 'frame', which tells the test the bytes were read.
    const talk = Buffer.concat([pduVector('heartbeat').bytes, encodeFrame({ commandId: 0x0215 }, Buffer.alloc(0))]);
    for (let i = 0; i < 4; i++) {
      timers.advance(20_000);
      assert.equal(conn.status, 'ready');
      const heard = once(conn, 'frame');
      server.broadcast(talk);
      await heard;
    }
    assert.equal(conn.status, 'ready');

    const inFlight = sendMsg(conn, 1, 1_000_000);
    await server.waitFor(() => server.received.length === 1, 'the request');
    // Now silence: nothing is sent back at all.
    timers.advance(29_999);
    assert.equal(conn.status, 'ready');
    timers.advance(1);
    assert.equal(conn.status, 'reconnecting');
    await assert.rejects(inFlight, isConnError('CONN_CLOSED'));
    assert.ok(errors.some((e) => isConnError('CONN_TIMEOUT')(e)));

    timers.advance(1000);
    await until(() => conn.status === 'ready', 'ready again');
    assert.equal(server.accepted, 2);
  });
});

describe('TeamTalkConnection draining (OTHER_STOP_RECV_PACKET)', { timeout: 60_000 }, () => {
  it('refuses new requests with CONN_DRAINING, still resolves those in flight, and reconnects when the server closes', async () => {
    const server = await startServer();
    server.mode = 'hold';
    const conn = connection(server);
    await conn.connect();
    const inFlight = [sendMsg(conn, 1), sendMsg(conn, 2), sendMsg(conn, 3)];
    await server.waitFor(() => server.heldCount === 3, 'three requests');
    server.stopReceiving();
    await until(() => conn.status === 'draining', 'draining');
    assert.equal(conn.canRequest, false);
    await assert.rejects(sendMsg(conn, 4), isConnError('CONN_DRAINING'));
    assert.throws(() => conn.send(CommandId.OTHER_HEARTBEAT, {}), isConnError('CONN_DRAINING'));

    server.releaseHeld();
    const replies = await Promise.all(inFlight);
    assert.deepEqual(
      replies.map((r) => r.fromUserId),
      [1001, 1002, 1003],
    );
    assert.equal(server.framesOf(CommandId.MSG_DATA).length, 3);

    server.mode = 'reply';
    server.dropConnections();
    await until(() => conn.status === 'ready' && server.accepted === 2, 'a new connection');
    assert.equal((await sendMsg(conn, 5)).fromUserId, 1005);
  });
});

describe('TeamTalkConnection backpressure', { timeout: 60_000 }, () => {
  it('holds the in-flight window: refuses with CONN_BUSY, emits drain, never has more than maxInFlight outstanding', async () => {
    const server = await startServer();
    server.mode = 'hold';
    const conn = connection(server, { maxInFlight: 4 });
    await conn.connect();
    const all: Promise<unknown>[] = [];
    let next = 0;
    for (let round = 1; round <= 5; round++) {
      while (conn.canRequest) all.push(sendMsg(conn, next++));
      assert.equal(conn.inFlight, 4);
      await assert.rejects(sendMsg(conn, 999), isConnError('CONN_BUSY'));
      await server.waitFor(() => server.heldCount === 4, `round ${round}: four held`);
      assert.equal(server.received.length, 4 * round, 'the refused request never reached the server');
      const drained = once(conn, 'drain');
      server.releaseHeld();
      await drained;
      await until(() => conn.inFlight === 0, 'all four answered');
    }
    assert.equal((await Promise.all(all)).length, 20);
  });

  it('answers false from send() when the write buffer is full, emits drain, and keeps the bytes in order', async () => {
    const server = await startServer();
    const conn = connection(server, { writeHighWaterMark: 128 * 1024 });
    await conn.connect();
    const [peer] = server.peers;
    peer!.socket.pause();
    const body = Buffer.alloc(60_000, 0x61);
    let sent = 0;
    // Keep writing while the server does not read, until the socket itself pushes back.
    for (let stalled = false; !stalled && sent < 4000;) {
      while (conn.send(CommandId.OTHER_ROLE_SET, { master: sent++ }) && sent < 4000) {
        conn.sendRaw(encodeFrame({ commandId: 0x0215, seqNum: 0 }, body));
      }
      stalled = await Promise.race([
        once(conn, 'drain').then(() => false),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 200)),
      ]);
    }
    assert.ok(!conn.writable, 'the write path reports it is full');
    const drained = once(conn, 'drain', 10_000);
    peer!.socket.resume();
    await drained;
    await server.waitFor(() => server.roleSets.length === sent, `${sent} role sets`, 10_000);
    assert.deepEqual(
      server.roleSets,
      Array.from({ length: sent }, (_, i) => i),
    );
  });
});
