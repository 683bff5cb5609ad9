/**
 * End to end through real processes: `ttpush sandbox` runs the servers, `ttpush listen` logs in as
 * user 2, and a raw client logged in as user 1 sends a message through the sandbox msg_server.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CommandId, decodeBody, encodePdu, im, TeamTalkCipher } from '@ttpush/pdu';
import { RawClient } from '@ttpush/testkit';
import { ttpush, type TtpushProcess } from './helpers/spawn-ttpush.ts';
import { startSandboxProcess, type SandboxPorts } from './helpers/sandbox-process.ts';

const cipher = new TeamTalkCipher('12345678901234567890123456789012');

describe('ttpush listen against ttpush sandbox', () => {
  const cleanups: (() => unknown)[] = [];
  let ports: SandboxPorts;
  before(async () => {
    ({ ports } = await startSandboxProcess({ after: (fn) => cleanups.push(fn) }));
  });
  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });

  function listen(t: { after(fn: () => unknown): void }, ...args: string[]): TtpushProcess {
    const proc = ttpush('listen', '--server', `127.0.0.1:${ports.msg}`, ...args);
    t.after(() => proc.kill());
    return proc;
  }

  test('a message from user 1 to user 2 is printed decrypted as one JSON line, then listen exits 0', async (t) => {
    const proc = listen(t, '--user', '2', '--password', 'x', '--count', '1', '--timeout', '20');
    await proc.waitFor(/logged in to .* \(user id 2\)/, 'stderr');

    const sender = await RawClient.connect(ports.msg);
    t.after(() => sender.close());
    const login = await sender.login('1', { password: 'x' });
    assert.equal(login.resultCode, im.ResultType.REFUSE_REASON_NONE);
    sender.sendRaw(
      encodePdu(
        CommandId.MSG_DATA,
        {
          fromUserId: 1,
          toSessionId: 2,
          msgId: 0,
          createTime: Math.floor(Date.now() / 1000),
          msgType: im.MsgType.MSG_TYPE_SINGLE_TEXT,
          msgData: Buffer.from(cipher.encryptToBase64('你好 🚀 listen')),
        },
        41,
      ),
    );
    const ackFrame = await sender.next((f) => f.commandId === CommandId.MSG_DATA_ACK, 10_000);
    const ack = decodeBody(CommandId.MSG_DATA_ACK, ackFrame.body);

    assert.deepEqual(await proc.exit(), { code: 0, signal: null }, proc.dump());
    const lines = proc.stdout.split('\n');
    assert.equal(lines.length, 2, proc.dump()); // one line and the final newline
    assert.equal(lines[1], '');
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.deepEqual(Object.keys(line), ['from', 'to', 'session_type', 'msg_id', 'create_time', 'text']);
    assert.equal(line.from, 1);
    assert.equal(line.to, 2);
    assert.equal(line.session_type, 'single');
    assert.ok(typeof line.msg_id === 'number' && line.msg_id >= 1, `msg_id ${String(line.msg_id)}`);
    assert.equal(line.msg_id, ack.msgId);
    assert.equal(line.text, '你好 🚀 listen');
  });

  test('--count 1 --timeout 1 exits 1 when nothing arrives', async (t) => {
    const proc = listen(t, '--user', '3', '--password', 'x', '--count', '1', '--timeout', '1');
    assert.equal((await proc.exit()).code, 1, proc.dump());
    assert.equal(proc.stdout, '');
    assert.match(proc.stderr, /logged in/);
  });
});
