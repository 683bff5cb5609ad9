import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { CommandId, ProtocolError, decodeBody, encodeFrame, encodePdu, im, TeamTalkCipher } from '@ttpush/pdu';
import { FakeTeamTalkServer, freePort, msgServerHandler, pduVector } from '@ttpush/testkit';
import { MsgServerSession, type SessionEvents, type SessionOptions } from '../src/listen/msg-server-session.ts';
import { ListenError, LoginRejectedError } from '../src/listen/listen-error.ts';

const cipher = new TeamTalkCipher('12345678901234567890123456789012');

interface Recorder extends SessionEvents {
  messages: im.IMMsgData[];
  notices: string[];
  lost: Promise<Error>;
  nextMessage(): Promise<im.IMMsgData>;
}

function recorder(): Recorder {
  const messages: im.IMMsgData[] = [];
  const notices: string[] = [];
  let onLost: (err: Error) => void = () => {};
  let wake: () => void = () => {};
  const lost = new Promise<Error>((resolve) => (onLost = resolve));
  return {
    messages,
    notices,
    lost,
    onMessage(msg) {
      messages.push(msg);
      wake();
    },
    onLost,
    onNotice: (text) => notices.push(text),
    nextMessage() {
      const seen = messages.length;
      return new Promise((resolve) => {
        wake = () => {
          if (messages.length > seen) resolve(messages[seen]!);
        };
      });
    },
  };
}

/** A fake server and a session logged into it, both closed when the test ends. */
async function online(t: TestContext, fake: { loginReply?: Buffer } = {}, options: Partial<SessionOptions> = {}) {
  const server = await FakeTeamTalkServer.start({ handler: msgServerHandler(fake.loginReply) });
  t.after(() => server.stop());
  const events = recorder();
  const session = await MsgServerSession.open(
    { host: '127.0.0.1', port: server.port, userName: '2', password: '123456', ...options },
    events,
  );
  t.after(() => session.close());
  return { server, session, events };
}

function msgData(fields: Partial<im.IMMsgData.$Properties>): Buffer {
  return encodePdu(CommandId.MSG_DATA, {
    fromUserId: 1,
    toSessionId: 2,
    msgId: 5,
    createTime: 1700000000,
    msgType: im.MsgType.MSG_TYPE_SINGLE_TEXT,
    msgData: Buffer.from(cipher.encryptToBase64('hi')),
    ...fields,
  });
}

test('logs in as a stock client does: MD5 hex password, ONLINE, WINDOWS, ttpush-listen', async (t) => {
  const { server, session } = await online(t);
  const login = decodeBody(CommandId.LOGIN_REQ_USERLOGIN, (await server.nthOf(CommandId.LOGIN_REQ_USERLOGIN)).body);
  assert.equal(login.userName, '2');
  assert.equal(login.password, 'e10adc3949ba59abbe56e057f20f883e'); // md5('123456'), a well-known value
  assert.equal(login.onlineStatus, im.UserStatType.USER_STATUS_ONLINE);
  assert.equal(login.clientType, 0x01);
  assert.equal(login.clientVersion, 'ttpush-listen');
  assert.equal(session.status, 'online');
});

test('the user id comes from the real login reply user_info', async (t) => {
  const { session } = await online(t, {}, { userName: 'user2' });
  assert.equal(session.userId, 2);
});

test('without user_info the user id is the numeric user name', async (t) => {
  const loginReply = encodePdu(CommandId.LOGIN_RES_USERLOGIN, { serverTime: 1, resultCode: 0 }, 1);
  const { session } = await online(t, { loginReply }, { userName: '77' });
  assert.equal(session.userId, 77);
});

test('a pushed MSG_DATA is delivered and acknowledged with the sender as the session', async (t) => {
  const { server, session, events } = await online(t);
  const next = events.nextMessage();
  server.push(pduVector('msg_data_push').bytes);
  const msg = await next;
  assert.equal(msg.fromUserId, 1);
  assert.equal(msg.toSessionId, 2);
  assert.equal(cipher.decryptToString(msg.msgData), 'push 测试');
  session.ack(msg);
  const ack = decodeBody(CommandId.MSG_DATA_ACK, (await server.nthOf(CommandId.MSG_DATA_ACK)).body);
  assert.deepEqual(
    { ...ack },
    { userId: 2, sessionId: 1, msgId: msg.msgId, sessionType: im.SessionType.SESSION_TYPE_SINGLE },
  );
});

test('a group message is acknowledged with the group as the session', async (t) => {
  const { server, session, events } = await online(t);
  const next = events.nextMessage();
  server.push(msgData({ fromUserId: 9, toSessionId: 900, msgId: 3, msgType: im.MsgType.MSG_TYPE_GROUP_TEXT }));
  session.ack(await next);
  const ack = decodeBody(CommandId.MSG_DATA_ACK, (await server.nthOf(CommandId.MSG_DATA_ACK)).body);
  assert.deepEqual({ ...ack }, { userId: 2, sessionId: 900, msgId: 3, sessionType: im.SessionType.SESSION_TYPE_GROUP });
});

test("the user's own message from another device is acknowledged with the recipient as the session", async (t) => {
  const { server, session, events } = await online(t);
  const next = events.nextMessage();
  server.push(msgData({ fromUserId: 2, toSessionId: 5, msgId: 4 }));
  session.ack(await next);
  const ack = decodeBody(CommandId.MSG_DATA_ACK, (await server.nthOf(CommandId.MSG_DATA_ACK)).body);
  assert.equal(ack.sessionId, 5);
});

test('heartbeats are sent on the interval once logged in', async (t) => {
  const { server } = await online(t, {}, { heartbeatMs: 20 });
  await server.waitFor(() => server.heartbeats.length >= 2, 'two heartbeats');
  const heartbeat = server.heartbeats[0];
  assert.equal(heartbeat?.body.length, 0);
  assert.equal(heartbeat?.serviceId, 0x0007);
});

test('a MSG_DATA body that does not parse is dropped with a notice; the session goes on', async (t) => {
  const { server, events } = await online(t);
  const next = events.nextMessage();
  server.push(encodeFrame({ commandId: CommandId.MSG_DATA }, Buffer.from([0x08, 0x01])));
  server.push(encodePdu(CommandId.OTHER_HEARTBEAT, {}));
  server.push(msgData({ msgId: 6 }));
  assert.equal((await next).msgId, 6);
  assert.equal(events.messages.length, 1);
  assert.equal(events.notices.length, 1);
  assert.match(events.notices[0]!, /MSG_DATA that does not parse/);
});

test('a framing fault from the server ends the session with a ProtocolError', async (t) => {
  const { server, session, events } = await online(t);
  const bad = Buffer.alloc(16);
  bad.writeUInt32BE(5, 0); // a length under the 16-byte header
  server.push(bad);
  const err = await events.lost;
  assert.ok(err instanceof ProtocolError);
  assert.equal(err.code, 'PDU_LENGTH_TOO_SMALL');
  assert.match(err.message, /framing fault from 127\.0\.0\.1:\d+/);
  assert.equal(session.status, 'closed');
});

test('the server closing the connection ends the session with LISTEN_CONNECTION_LOST', async (t) => {
  const { server, events } = await online(t);
  server.dropConnections();
  const err = await events.lost;
  assert.ok(err instanceof ListenError);
  assert.equal(err.code, 'LISTEN_CONNECTION_LOST');
});

test('close() ends the connection and reports no loss', async (t) => {
  const { server, session, events } = await online(t);
  let lost = false;
  void events.lost.then(() => (lost = true));
  await session.close();
  await session.close(); // idempotent
  assert.equal(session.status, 'closed');
  // The server sees the connection go: a new push reaches nobody and nothing is delivered.
  server.push(msgData({}));
  await new Promise((r) => setImmediate(r));
  assert.equal(lost, false);
  assert.equal(events.messages.length, 0);
});

test('a refused login rejects with the result code and string', async (t) => {
  const loginReply = encodePdu(
    CommandId.LOGIN_RES_USERLOGIN,
    { serverTime: 1, resultCode: im.ResultType.REFUSE_REASON_DB_VALIDATE_FAILED, resultString: '密码错误' },
    1,
  );
  await assert.rejects(online(t, { loginReply }), (err: unknown) => {
    assert.ok(err instanceof LoginRejectedError);
    assert.equal(err.code, 'LISTEN_LOGIN_REJECTED');
    assert.equal(err.resultCode, 6);
    assert.equal(err.resultString, '密码错误');
    assert.match(err.message, /result_code 6 \(REFUSE_REASON_DB_VALIDATE_FAILED\): 密码错误/);
    return true;
  });
});

test('a login nobody answers times out', async (t) => {
  await assert.rejects(
    online(t, { loginReply: Buffer.alloc(0) }, { loginTimeoutMs: 100 }),
    (err: unknown) => err instanceof ListenError && err.code === 'LISTEN_LOGIN_TIMEOUT',
  );
});

test('a closed port is refused, naming the address', async () => {
  const port = await freePort();
  await assert.rejects(
    MsgServerSession.open({ host: '127.0.0.1', port, userName: '2', password: 'x' }, recorder()),
    (err: unknown) =>
      err instanceof ListenError && err.code === 'LISTEN_CONNECT_REFUSED' && err.message.includes(`127.0.0.1:${port}`),
  );
});

test('an abort before the login answer rejects with LISTEN_ABORTED', async (t) => {
  const controller = new AbortController();
  const attempt = online(t, { loginReply: Buffer.alloc(0) }, { signal: controller.signal });
  setImmediate(() => controller.abort());
  await assert.rejects(attempt, (err: unknown) => err instanceof ListenError && err.code === 'LISTEN_ABORTED');
});
