/**
 * `ttpush sandbox` as a real process: where it says it listens, how it refuses bad input, and how it stops.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandId, encodePdu, im, TeamTalkCipher } from '@ttpush/pdu';
import { RawClient } from '@ttpush/testkit';
import { ttpush } from './helpers/spawn-ttpush.ts';
import { freePorts3, portArgs, startSandboxProcess } from './helpers/sandbox-process.ts';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ttpush-sandbox-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('prints one line per server and stops on SIGTERM with exit 0, freeing its ports', async (t) => {
  const { proc, ports } = await startSandboxProcess(t);
  assert.equal(
    proc.stdout,
    `db_proxy_server listening on 127.0.0.1:${ports.db}\n` +
      `route_server listening on 127.0.0.1:${ports.route}\n` +
      `msg_server listening on 127.0.0.1:${ports.msg}\n`,
  );
  proc.signal('SIGTERM');
  assert.deepEqual(await proc.exit(), { code: 0, signal: null }, proc.dump());
  // Every port can be taken again: the servers really closed.
  for (const port of [ports.db, ports.route, ports.msg]) {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    await new Promise((resolve) => server.close(resolve));
  }
});

test('SIGINT also stops it with exit 0', async (t) => {
  const { proc } = await startSandboxProcess(t);
  proc.signal('SIGINT');
  assert.deepEqual(await proc.exit(), { code: 0, signal: null }, proc.dump());
});

test('--json adds a one-line summary with the ports actually bound (0 picks free ones)', async (t) => {
  const proc = ttpush('sandbox', '--db-port', '0', '--route-port', '0', '--msg-port', '0', '--json');
  t.after(() => proc.kill());
  const [json] = await proc.waitFor(/^\{.*\}$/m);
  const summary = JSON.parse(json) as Record<string, unknown>;
  assert.equal(summary.host, '127.0.0.1');
  for (const key of ['db_port', 'route_port', 'msg_port']) {
    assert.ok(typeof summary[key] === 'number' && summary[key] > 0, `${key} ${String(summary[key])}`);
  }
  assert.match(proc.stdout, new RegExp(`msg_server listening on 127\\.0\\.0\\.1:${String(summary.msg_port)}\\n`));
  // The printed msg_server port is real: a client logs in there.
  const client = await RawClient.connect(summary.msg_port as number);
  t.after(() => client.close());
  assert.equal((await client.login('5', { password: 'x' })).resultCode, 0);
});

test('a busy port exits 2 naming the port and the flag to change', async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
  t.after(() => new Promise((resolve) => blocker.close(resolve)));
  const busy = (blocker.address() as { port: number }).port;
  let ports = await freePorts3();
  while (ports.db === busy || ports.route === busy) ports = await freePorts3();
  const proc = ttpush('sandbox', ...portArgs({ ...ports, msg: busy }));
  t.after(() => proc.kill());
  assert.equal((await proc.exit()).code, 2, proc.dump());
  assert.match(proc.stderr, new RegExp(`127\\.0\\.0\\.1:${busy} is already in use: choose another with --msg-port`));
  assert.equal(proc.stdout, '');
});

test('a bad --groups file exits 2 and says what is wrong', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'broken.json'), '{"100": [1, 2');
  writeFileSync(join(dir, 'bad-id.json'), '{"100": [1, -2]}');
  const cases: [string, RegExp][] = [
    [join(dir, 'missing.json'), /missing\.json: cannot read it: no such file/],
    [join(dir, 'broken.json'), /broken\.json is not JSON/],
    [join(dir, 'bad-id.json'), /group 100 has member -2, not a positive integer/],
  ];
  await Promise.all(
    cases.map(async ([file, message]) => {
      const proc = ttpush('sandbox', '--db-port', '0', '--route-port', '0', '--msg-port', '0', '--groups', file);
      t.after(() => proc.kill());
      assert.equal((await proc.exit()).code, 2, proc.dump());
      assert.match(proc.stderr, message);
      assert.equal(proc.stdout, '');
    }),
  );
});

test('bad arguments exit 2 with the usage', async (t) => {
  const proc = ttpush('sandbox', '--msg-port', 'eighty');
  t.after(() => proc.kill());
  assert.equal((await proc.exit()).code, 2, proc.dump());
  assert.match(proc.stderr, /--msg-port must be an integer/);
  assert.match(proc.stderr, /usage: ttpush sandbox/);
});

test('a group from --groups reaches a member listening, and the --aes-key is never printed', async (t) => {
  const key = 'kkkkkkkkkkkkkkkkkkkkkkkkkkkk0123';
  const dir = tempDir(t);
  writeFileSync(join(dir, 'groups.json'), '{"500": [1, 2]}');
  const { proc: sandbox, ports } = await startSandboxProcess(
    t,
    '--groups',
    join(dir, 'groups.json'),
    '--aes-key',
    key,
    '--log-level',
    'debug',
  );
  const listener = ttpush(
    'listen',
    ...['--server', `127.0.0.1:${ports.msg}`, '--user', '2', '--password', 'x', '--aes-key', key],
    ...['--count', '1', '--timeout', '20'],
  );
  t.after(() => listener.kill());
  await listener.waitFor(/logged in/, 'stderr');
  const sender = await RawClient.connect(ports.msg);
  t.after(() => sender.close());
  await sender.login('1', { password: 'x' });
  sender.sendRaw(
    encodePdu(CommandId.MSG_DATA, {
      fromUserId: 1,
      toSessionId: 500,
      msgId: 0,
      createTime: Math.floor(Date.now() / 1000),
      msgType: im.MsgType.MSG_TYPE_GROUP_TEXT,
      msgData: Buffer.from(new TeamTalkCipher(key).encryptToBase64('群里好')),
    }),
  );
  assert.equal((await listener.exit()).code, 0, listener.dump());
  const line = JSON.parse(listener.stdout) as Record<string, unknown>;
  assert.equal(line.session_type, 'group');
  assert.equal(line.to, 500);
  assert.equal(line.text, '群里好');
  sandbox.signal('SIGTERM');
  assert.equal((await sandbox.exit()).code, 0, sandbox.dump());
  assert.ok(!sandbox.stdout.includes(key) && !sandbox.stderr.includes(key), 'the key appears in the output');
});
