/**
 * `ttpush listen` as a real process against a fake msg_server: what it prints, what it answers,
 * and its exit codes.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { CommandId, decodeBody, encodePdu, im, TeamTalkCipher } from '@ttpush/pdu';
import { FakeTeamTalkServer, freePort, msgServerHandler, pduVector } from '@ttpush/testkit';
import { ttpush, type TtpushProcess } from './helpers/spawn-ttpush.ts';

const cipher = new TeamTalkCipher('12345678901234567890123456789012');

/** A fake msg_server answering logins with `loginReply` (default: the real login_ok), stopped when the test ends. */
async function fakeServer(t: TestContext, options: { loginReply?: Buffer } = {}): Promise<FakeTeamTalkServer> {
  const server = await FakeTeamTalkServer.start({ handler: msgServerHandler(options.loginReply) });
  t.after(() => server.stop());
  return server;
}

function listen(t: TestContext, ...args: string[]): TtpushProcess {
  const proc = ttpush('listen', ...args);
  t.after(() => proc.kill());
  return proc;
}

function loggedIn(proc: TtpushProcess): Promise<RegExpMatchArray> {
  return proc.waitFor(/logged in to .* \(user id \d+\)/, 'stderr');
}

test('prints a pushed message as exactly one JSON line, acknowledges it and exits 0 after --count', async (t) => {
  const server = await fakeServer(t);
  const proc = listen(t, '--server', `127.0.0.1:${server.port}`, '--user', '2', '--password', 'x', '--count', '1');
  await loggedIn(proc);
  // The real msg_server's push of user 1's text 'push 测试' to user 2.
  server.push(pduVector('msg_data_push').bytes);
  const exit = await proc.exit();
  assert.deepEqual(exit, { code: 0, signal: null }, proc.dump());
  assert.equal(
    proc.stdout,
    '{"from":1,"to":2,"session_type":"single","msg_id":12,"create_time":1795870963,"text":"push 测试"}\n',
  );
  const ack = decodeBody(CommandId.MSG_DATA_ACK, (await server.nthOf(CommandId.MSG_DATA_ACK)).body);
  assert.deepEqual({ ...ack }, { userId: 2, sessionId: 1, msgId: 12, sessionType: im.SessionType.SESSION_TYPE_SINGLE });
  assert.match(proc.stderr, new RegExp(`connecting to 127\\.0\\.0\\.1:${server.port}`));
});

test('texts that do not decrypt print "text": null with an error; group messages print as group', async (t) => {
  const server = await fakeServer(t);
  const proc = listen(t, '--server', `127.0.0.1:${server.port}`, '--user', '2', '--password', 'x', '--count', '3');
  await loggedIn(proc);
  const wrongKey = new TeamTalkCipher('abcdefghijklmnopqrstuvwxyz012345');
  const base = { fromUserId: 1, toSessionId: 2, createTime: 1700000000, msgType: im.MsgType.MSG_TYPE_SINGLE_TEXT };
  server.push(encodePdu(CommandId.MSG_DATA, { ...base, msgId: 1, msgData: Buffer.from('!!not base64!!') }));
  server.push(
    encodePdu(CommandId.MSG_DATA, { ...base, msgId: 2, msgData: Buffer.from(wrongKey.encryptToBase64('x')) }),
  );
  server.push(
    encodePdu(CommandId.MSG_DATA, {
      ...base,
      toSessionId: 900,
      msgId: 3,
      msgType: im.MsgType.MSG_TYPE_GROUP_TEXT,
      msgData: Buffer.from(cipher.encryptToBase64('大家好')),
    }),
  );
  assert.equal((await proc.exit()).code, 0, proc.dump());
  const lines = proc.stdout
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 3);
  assert.equal(lines[0]?.text, null);
  assert.match(String(lines[0]?.error), /CIPHER_BAD_BASE64/);
  assert.equal(lines[1]?.text, null);
  assert.match(String(lines[1]?.error), /^CIPHER_/);
  assert.deepEqual(lines[2], {
    from: 1,
    to: 900,
    session_type: 'group',
    msg_id: 3,
    create_time: 1700000000,
    text: '大家好',
  });
  assert.equal(server.framesOf(CommandId.MSG_DATA_ACK).length, 3);
});

test('--count 1 --timeout 1 with nothing arriving exits 1', async (t) => {
  const server = await fakeServer(t);
  const counted = listen(
    t,
    '--server',
    `127.0.0.1:${server.port}`,
    '--user',
    '2',
    '--password',
    'x',
    '--count',
    '1',
    '--timeout',
    '1',
  );
  assert.equal((await counted.exit()).code, 1, counted.dump());
  assert.equal(counted.stdout, '');
  assert.match(counted.stderr, /0 of 1 messages/);
});

test('--timeout without --count exits 0 when it runs out', async (t) => {
  const server = await fakeServer(t);
  const proc = listen(t, '--server', `127.0.0.1:${server.port}`, '--user', '2', '--password', 'x', '--timeout', '1');
  assert.equal((await proc.exit()).code, 0, proc.dump());
  assert.equal(proc.stdout, '');
});

test('SIGTERM and SIGINT end a listen without --count with exit 0', async (t) => {
  const server = await fakeServer(t);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const proc = listen(t, '--server', `127.0.0.1:${server.port}`, '--user', '2', '--password', 'x');
    await loggedIn(proc);
    proc.signal(signal);
    assert.deepEqual(await proc.exit(), { code: 0, signal: null }, proc.dump());
  }
});

test('a port nothing listens on exits 2, naming the address', async (t) => {
  const port = await freePort();
  const proc = listen(t, '--server', `127.0.0.1:${port}`, '--user', '2', '--password', 'x', '--timeout', '5');
  assert.equal((await proc.exit()).code, 2, proc.dump());
  assert.match(proc.stderr, new RegExp(`refused by 127\\.0\\.0\\.1:${port}`));
  assert.equal(proc.stdout, '');
});

test('a refused login exits 2 with the result code and string', async (t) => {
  const loginReply = encodePdu(
    CommandId.LOGIN_RES_USERLOGIN,
    { serverTime: 1, resultCode: im.ResultType.REFUSE_REASON_DB_VALIDATE_FAILED, resultString: 'bad password' },
    1,
  );
  const server = await fakeServer(t, { loginReply });
  const proc = listen(t, '--server', `127.0.0.1:${server.port}`, '--user', '2', '--password', 'x');
  assert.equal((await proc.exit()).code, 2, proc.dump());
  assert.match(proc.stderr, /result_code 6 \(REFUSE_REASON_DB_VALIDATE_FAILED\): bad password/);
});

test('--timeout running out before the login is answered exits 2', async (t) => {
  const server = await fakeServer(t, { loginReply: Buffer.alloc(0) });
  const proc = listen(t, '--server', `127.0.0.1:${server.port}`, '--user', '2', '--password', 'x', '--timeout', '1');
  assert.equal((await proc.exit()).code, 2, proc.dump());
  assert.match(proc.stderr, /cannot log in: --timeout ran out/);
});

test('a framing fault from the server exits 2 with a message', async (t) => {
  const server = await fakeServer(t);
  const proc = listen(t, '--server', `127.0.0.1:${server.port}`, '--user', '2', '--password', 'x', '--count', '1');
  await loggedIn(proc);
  server.push(Buffer.from('00000000000100000001000000000000', 'hex')); // length 0: the C++ servers throw on it
  assert.equal((await proc.exit()).code, 2, proc.dump());
  assert.match(proc.stderr, /framing fault from 127\.0\.0\.1:\d+: PDU length 0/);
});

test('the server closing the connection exits 2', async (t) => {
  const server = await fakeServer(t);
  const proc = listen(t, '--server', `127.0.0.1:${server.port}`, '--user', '2', '--password', 'x');
  await loggedIn(proc);
  server.dropConnections();
  assert.equal((await proc.exit()).code, 2, proc.dump());
  assert.match(proc.stderr, /closed the connection/);
});

test('bad arguments exit 2 with the reason and the usage on stderr', async (t) => {
  const cases: [string[], RegExp][] = [
    [[], /--server is required/],
    [['--server', '127.0.0.1', '--user', '2', '--password', 'x'], /--server must be HOST:PORT/],
    [['--server', '127.0.0.1:8000', '--user', '2', '--password', 'x', '--count', 'many'], /--count must be/],
    [['--server', '127.0.0.1:8000', '--user', '2', '--password', 'x', '--frobnicate'], /--frobnicate/],
  ];
  await Promise.all(
    cases.map(async ([args, reason]) => {
      const proc = listen(t, ...args);
      assert.equal((await proc.exit()).code, 2, proc.dump());
      assert.match(proc.stderr, reason);
      assert.match(proc.stderr, /usage: ttpush listen --server HOST:PORT/);
      assert.equal(proc.stdout, '');
    }),
  );
});

test('--help prints the usage on stdout, says the stock key is public, and exits 0', async (t) => {
  const proc = listen(t, '--help');
  assert.equal((await proc.exit()).code, 0, proc.dump());
  assert.match(proc.stdout, /usage: ttpush listen/);
  assert.match(proc.stdout, /12345678901234567890123456789012, which is public: for tests only/);
});
