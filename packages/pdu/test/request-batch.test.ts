/**
 * Batched requests and PDUs (TeamTalkConnection.requestBatch / sendBatch, DbProxyPool.requestBatch,
 * RoutePool.forwardBatch) against fake servers speaking the real protocol: the bytes on the wire are those of
 * request() and send() for the same bodies, every request gets exactly one outcome (reply, timeout, lost
 * connection, mismatch), a reply the batch cannot read is dropped like any unreadable reply, and the window holds.
 * attachOffset, which finds a reply's request without decoding it, against protobufjs's decoder.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CommandId,
  ConnectionError,
  DbProxyPool,
  MsgDataTemplate,
  RoutePool,
  TeamTalkConnection,
  attachOffset,
  decodeBody,
  encodeBody,
  type RequestBatch,
  type TeamTalkConnectionOptions,
} from '@ttpush/pdu';
import { FakeTeamTalkServer, FakeTimers, type Handler } from '@ttpush/testkit';
import { captureLogger } from './helpers/capture-logger.ts';
import { failOnLeaks, onCleanup } from './helpers/leaks.ts';
import { Prng } from './helpers/prng.ts';
import { until } from './helpers/until.ts';

failOnLeaks();

async function startServer(handler?: Handler): Promise<FakeTeamTalkServer> {
  const server = await FakeTeamTalkServer.start(handler ? { handler } : {});
  onCleanup(() => server.stop());
  return server;
}

function connection(server: { port: number }, options: Partial<TeamTalkConnectionOptions> = {}): TeamTalkConnection {
  const conn = new TeamTalkConnection({ host: '127.0.0.1', port: server.port, retryStrategy: () => 20, ...options });
  onCleanup(() => conn.close());
  return conn;
}

const TEXT = Buffer.from('dGhlIGJhdGNoIHRleHQ=', 'latin1');
const template = new MsgDataTemplate({ fromUserId: 1001, createTime: 1_800_000_000, msgType: 1, msgData: TEXT });
/** Recipient of tag i: ids across the 1/2/3-byte varint boundaries. */
const recipient = (i: number) => [5, 0x7f, 0x80, 0x3fff, 0x4000, 300_000][i % 6]! + i;

type Outcome = { kind: 'replied'; msgId: number } | { kind: 'failed'; err: Error };

/** A RequestBatch of IMMsgData from `template`, recording each tag's outcomes. */
class Recorder implements RequestBatch {
  readonly commandId = CommandId.MSG_DATA;
  readonly responseCommand = CommandId.MSG_DATA;
  readonly outcomes = new Map<number, Outcome[]>();
  private kept = -1;
  /** Tags whose replies read() refuses. */
  readonly unreadable = new Set<number>();

  bodyLength(tag: number): number {
    return template.bodyLength(recipient(tag), 0);
  }

  writeBody(tag: number, out: Buffer, offset: number): void {
    template.write(out, offset, recipient(tag), 0);
  }

  read(tag: number, bytes: Buffer, start: number, end: number): boolean {
    if (this.unreadable.has(tag)) return false;
    this.kept = decodeBody(CommandId.MSG_DATA, bytes.subarray(start, end)).msgId;
    return true;
  }

  replied(tag: number): void {
    this.add(tag, { kind: 'replied', msgId: this.kept });
  }

  failed(tag: number, err: Error): void {
    this.add(tag, { kind: 'failed', err });
  }

  get settled(): number {
    return this.outcomes.size;
  }

  private add(tag: number, o: Outcome): void {
    const list = this.outcomes.get(tag) ?? [];
    list.push(o);
    this.outcomes.set(tag, list);
  }
}

const range = (n: number, first = 0) => Array.from({ length: n }, (_, i) => first + i);

function codeOf(o: Outcome[] | undefined): string | undefined {
  return o?.length === 1 && o[0]!.kind === 'failed' && o[0]!.err instanceof ConnectionError
    ? o[0]!.err.code
    : undefined;
}

describe('TeamTalkConnection.requestBatch', { timeout: 60_000 }, () => {
  it('writes the bodies request() would, each with its own attach_data and seq_num, and settles each tag once', async () => {
    const server = await startServer();
    const conn = connection(server);
    await conn.connect();
    const b = new Recorder();
    const tags = range(300, 1000);
    assert.equal(conn.requestBatch(b, tags, 0, tags.length), 300);
    assert.equal(conn.inFlight, 300);
    await until(() => b.settled === 300, 'every reply');
    const frames = server.framesOf(CommandId.MSG_DATA);
    assert.equal(frames.length, 300);
    const attach = new Set<string>();
    frames.forEach((f, k) => {
      const req = decodeBody(CommandId.MSG_DATA, f.body);
      attach.add(Buffer.from(req.attachData).toString('hex'));
      const fields = { fromUserId: 1001, toSessionId: recipient(tags[k]!), msgId: 0, createTime: 1_800_000_000 };
      const want = encodeBody(CommandId.MSG_DATA, { ...fields, msgType: 1, msgData: TEXT, attachData: req.attachData });
      assert.deepEqual(f.body, Buffer.from(want), `request ${k}`);
    });
    assert.equal(attach.size, 300);
    assert.equal(new Set(frames.map((f) => f.seqNum)).size, 300);
    for (const tag of tags) assert.equal(b.outcomes.get(tag)?.length, 1);
    assert.deepEqual(
      tags.map((t) => (b.outcomes.get(t)![0] as { msgId: number }).msgId),
      range(300, 1),
      'msg_ids in arrival order',
    );
    assert.equal(conn.inFlight, 0);
  });

  it('matches shuffled replies to their own tags', async () => {
    const server = await startServer();
    server.mode = 'hold';
    const conn = connection(server, { maxInFlight: 5000 });
    await conn.connect();
    const b = new Recorder();
    const tags = range(2000).reverse();
    assert.equal(conn.requestBatch(b, tags, 0, 1000), 1000);
    assert.equal(conn.requestBatch(b, tags, 1000, 2000), 1000);
    await server.waitFor(() => server.heldCount === 2000, 'all held');
    server.releaseHeld(new Prng(7));
    await until(() => b.settled === 2000, 'every reply');
    const frames = server.framesOf(CommandId.MSG_DATA);
    // The k-th request received got msg_id k + 1: each tag's reply carries its own request's id.
    frames.forEach((f, k) => {
      const to = decodeBody(CommandId.MSG_DATA, f.body).toSessionId;
      const tag = tags.find((t) => recipient(t) === to)!;
      assert.deepEqual(b.outcomes.get(tag), [{ kind: 'replied', msgId: k + 1 }]);
    });
  });

  it('fails an unanswered tag with REQUEST_TIMEOUT (and "unanswered"), the answered ones replied', async () => {
    const server = await startServer((frame, peer, srv) => {
      const req = decodeBody(CommandId.MSG_DATA, frame.body);
      if (req.toSessionId % 2 === 1) return;
      peer.reply(frame, CommandId.MSG_DATA, { ...req, msgId: srv.nextMsgId++ });
    });
    const timers = new FakeTimers();
    const conn = connection(server, { timers, requestTimeoutMs: 1000 });
    const unanswered: number[] = [];
    conn.on('unanswered', (command) => unanswered.push(command));
    await conn.connect();
    const b = new Recorder();
    const tags = range(10);
    conn.requestBatch(b, tags, 0, 10);
    const odd = tags.filter((t) => recipient(t) % 2 === 1).length;
    await until(() => b.settled === 10 - odd, 'the answered ones');
    timers.advance(1000);
    assert.equal(b.settled, 10);
    for (const t of tags) {
      if (recipient(t) % 2 === 1) assert.equal(codeOf(b.outcomes.get(t)), 'REQUEST_TIMEOUT', `tag ${t}`);
      else assert.equal(b.outcomes.get(t)![0]!.kind, 'replied');
    }
    assert.equal(unanswered.length, odd);
    assert.equal(conn.inFlight, 0);
  });

  it('fails every tag in flight with CONN_CLOSED when the connection is lost, once each', async () => {
    const server = await startServer();
    server.mode = 'hold';
    const conn = connection(server);
    await conn.connect();
    const b = new Recorder();
    conn.requestBatch(b, range(50), 0, 50);
    await server.waitFor(() => server.heldCount === 50, 'held');
    server.dropConnections();
    await until(() => b.settled === 50, 'every failure');
    for (const t of range(50)) assert.equal(codeOf(b.outcomes.get(t)), 'CONN_CLOSED');
  });

  it('drops a reply the batch cannot read (the request then times out), and fails a mismatched command', async () => {
    const server = await startServer((frame, peer, srv) => {
      const req = decodeBody(CommandId.MSG_DATA, frame.body);
      if (req.toSessionId === recipient(2)) {
        peer.reply(frame, CommandId.MSG_GET_LATEST_MSG_ID_RSP, {
          userId: 1,
          sessionType: 1,
          sessionId: 2,
          latestMsgId: 3,
          attachData: req.attachData,
        });
      } else peer.reply(frame, CommandId.MSG_DATA, { ...req, msgId: srv.nextMsgId++ });
    });
    const timers = new FakeTimers();
    const { logger, lines } = captureLogger();
    const conn = connection(server, { timers, logger, requestTimeoutMs: 1000 });
    await conn.connect();
    const b = new Recorder();
    b.unreadable.add(1);
    conn.requestBatch(b, range(4), 0, 4);
    await until(() => b.settled === 3, 'three outcomes');
    assert.equal(codeOf(b.outcomes.get(2)), 'REQUEST_REPLY_MISMATCH');
    assert.equal(b.outcomes.get(1), undefined);
    assert.ok(lines.some((l) => l.level === 'warn' && /does not parse/.test(l.msg)));
    assert.equal(conn.inFlight, 1);
    timers.advance(1000);
    assert.equal(codeOf(b.outcomes.get(1)), 'REQUEST_TIMEOUT');
  });

  it('issues no more than the window has room for, emits drain, and nothing at all when not ready', async () => {
    const server = await startServer();
    server.mode = 'hold';
    const conn = connection(server, { maxInFlight: 100 });
    const b = new Recorder();
    assert.equal(conn.requestBatch(b, range(10), 0, 10), 0, 'not connected: none');
    await conn.connect();
    assert.equal(conn.requestBatch(b, range(150), 0, 150), 100);
    assert.equal(conn.requestBatch(b, range(150), 100, 150), 0);
    const drained = new Promise<void>((r) => conn.once('drain', () => r()));
    await server.waitFor(() => server.heldCount === 100, 'held');
    server.releaseHeld();
    await drained;
    await until(() => b.settled === 100, 'replies');
    assert.equal(conn.requestBatch(b, range(150), 100, 150), 50);
  });
});

describe('DbProxyPool.requestBatch and RoutePool.forwardBatch', { timeout: 60_000 }, () => {
  it('spreads a batch over the ready connections and answers how many left', async () => {
    const a = await startServer();
    const c = await startServer();
    const pool = new DbProxyPool({
      addresses: [a.address, c.address],
      connectionsPerServer: 2,
      retryStrategy: () => 20,
    });
    onCleanup(() => pool.close());
    await pool.start();
    await until(() => pool.status().every((m) => m.status === 'ready'), 'all ready');
    const b = new Recorder();
    assert.equal(pool.requestBatch(b, range(400), 0, 400), 400);
    await until(() => b.settled === 400, 'every reply');
    assert.equal(a.framesOf(CommandId.MSG_DATA).length + c.framesOf(CommandId.MSG_DATA).length, 400);
    assert.ok(a.framesOf(CommandId.MSG_DATA).length >= 100 && c.framesOf(CommandId.MSG_DATA).length >= 100);
    await c.stop();
    await a.stop();
    await until(() => !pool.ready, 'none ready');
    assert.equal(pool.requestBatch(b, range(10), 0, 10), 0);
  });

  it('forwards one buffer of PDUs whose bodies are what forward() encodes, each with its own seq_num', async () => {
    const route = await startServer(() => {});
    const pool = new RoutePool({ addresses: [route.address], retryStrategy: () => 20 });
    onCleanup(() => pool.close());
    await pool.start();
    const bodies = {
      bodyLength: (tag: number) => template.bodyLength(recipient(tag), tag + 1),
      writeBody: (tag: number, out: Buffer, offset: number) => template.write(out, offset, recipient(tag), tag + 1),
    };
    assert.equal(pool.forwardBatch(CommandId.MSG_DATA, bodies, [3, 1, 2], 0, 3), true);
    pool.forward(CommandId.MSG_DATA, {
      fromUserId: 1001,
      toSessionId: recipient(4),
      msgId: 5,
      createTime: 1_800_000_000,
      msgType: 1,
      msgData: TEXT,
    });
    await route.waitFor(() => route.framesOf(CommandId.MSG_DATA).length === 4, 'four forwards');
    const frames = route.framesOf(CommandId.MSG_DATA);
    [3, 1, 2, 4].forEach((tag, k) => {
      const want = encodeBody(CommandId.MSG_DATA, {
        fromUserId: 1001,
        toSessionId: recipient(tag),
        msgId: tag + 1,
        createTime: 1_800_000_000,
        msgType: 1,
        msgData: TEXT,
      });
      assert.deepEqual(frames[k]!.body, Buffer.from(want), `forward ${k}`);
    });
    assert.equal(new Set(frames.map((f) => f.seqNum)).size, 4);
    await route.stop();
    await until(() => !pool.ready, 'no master');
    assert.throws(() => pool.forwardBatch(CommandId.MSG_DATA, bodies, [1], 0, 1), ConnectionError);
  });
});

describe('attachOffset', () => {
  it('finds the attach_data a full decode keeps (the last one, when 8 bytes), or answers -1', () => {
    const rng = new Prng(11);
    for (let n = 0; n < 2000; n++) {
      const attach = Buffer.from(range(8).map(() => rng.int(0, 255)));
      const fields = {
        fromUserId: rng.int(0, 0xffffffff),
        toSessionId: rng.int(0, 0xffffffff),
        msgId: rng.int(0, 0xffffffff),
        createTime: rng.int(0, 0xffffffff),
        msgType: rng.int(0, 300),
        msgData: Buffer.alloc(rng.int(0, 300), 0x41),
      };
      const body = Buffer.from(encodeBody(CommandId.MSG_DATA, { ...fields, attachData: attach }));
      const at = attachOffset(body);
      assert.deepEqual(body.subarray(at, at + 8), attach);
      // Where it lies in a larger buffer: bytes before and after it are not part of it.
      const around = Buffer.concat([
        Buffer.from([0x08, 0x01, 0xa2]),
        body,
        Buffer.from([0xa2, 0x01, 0x08, 1, 2, 3, 4]),
      ]);
      assert.equal(attachOffset(around, 3, 3 + body.length), at + 3);
      assert.equal(attachOffset(Buffer.from(encodeBody(CommandId.MSG_DATA, fields))), -1);
    }
    const withAttach = (a: Buffer) =>
      Buffer.from(
        encodeBody(CommandId.MSG_DATA, {
          fromUserId: 1,
          toSessionId: 2,
          msgId: 0,
          createTime: 3,
          msgType: 1,
          msgData: TEXT,
          attachData: a,
        }),
      );
    // Not 8 bytes: not ours to find.
    assert.equal(attachOffset(withAttach(Buffer.alloc(7))), -1);
    // Twice: the last one counts, as in a decode.
    const first = withAttach(Buffer.from('1111111111111111', 'hex'));
    const twice = Buffer.concat([first, Buffer.from([0xa2, 0x01, 0x08]), Buffer.from('2222222222222222', 'hex')]);
    assert.deepEqual(Buffer.from(decodeBody(CommandId.MSG_DATA, twice).attachData).toString('hex'), '2222222222222222');
    assert.equal(twice.subarray(attachOffset(twice)).toString('hex'), '2222222222222222');
    const then7 = Buffer.concat([first, Buffer.from([0xa2, 0x01, 0x07]), Buffer.alloc(7)]);
    assert.equal(attachOffset(then7), -1);
    // Cut short, or a group wire type: not walked.
    assert.equal(attachOffset(first.subarray(0, first.length - 1)), -1);
    assert.equal(attachOffset(Buffer.concat([Buffer.from([0x0b]), first])), -1);
  });
});
