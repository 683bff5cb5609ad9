/**
 * startSandbox() as a whole: seeding, ports, logging, closing, start failures.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { CommandId, type Logger } from '@ttpush/pdu';
import { RawClient, freePort } from '@ttpush/testkit';
import { startSandbox } from '../src/index.ts';
import { expectNoLeaks, sandboxFor } from './helpers/sandbox.ts';
import { msgData } from './helpers/messages.ts';

describe('startSandbox', () => {
  it('seeds groups (creator = first member, type NORMAL) and reads them back', async (t) => {
    const { sandbox } = await sandboxFor(t, { groups: { '12': [5, 6, 7], '3': [1] } });
    assert.deepEqual(
      sandbox.store.groups().map((g) => [g.id, g.creator, g.type, g.members]),
      [
        [3, 1, 1, [1]],
        [12, 5, 1, [5, 6, 7]],
      ],
    );
    assert.equal(sandbox.store.group(4), undefined);
    assert.throws(() => sandbox.store.createGroup({ id: 12, members: [1] }), RangeError);
    assert.equal(sandbox.store.createGroup({ members: [9] }).id, 13, 'new ids follow the highest');
  });

  it('listens on the ports it is given, and connects msg_server to db_proxy and route', async (t) => {
    const [dbPort, routePort, msgPort] = [await freePort(), await freePort(), await freePort()];
    const { sandbox } = await sandboxFor(t, { dbPort, routePort, msgPort });
    assert.deepEqual([sandbox.dbProxy.port, sandbox.route.port, sandbox.msgServer.port], [dbPort, routePort, msgPort]);
    assert.deepEqual(sandbox.msgServer.upstream, { db: 'ready', route: 'ready' });
    assert.equal(sandbox.dbProxy.connections, 1);
    assert.equal(sandbox.route.connections, 1);
  });

  it('rejects with the listen error when a port is busy, leaving nothing running', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const address = busy.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const before = new Map(
      ['TCPServerWrap', 'TCPSocketWrap', 'Timeout'].map((k) => [
        k,
        process.getActiveResourcesInfo().filter((r) => r === k).length,
      ]),
    );
    try {
      await assert.rejects(startSandbox({ msgPort: port }), { code: 'EADDRINUSE' });
      await expectNoLeaks(before, 'failed start');
    } finally {
      await new Promise((r) => busy.close(r));
    }
  });

  it('closes every socket and timer, and close() can be called twice', async () => {
    const before = new Map(
      ['TCPServerWrap', 'TCPSocketWrap', 'Timeout'].map((k) => [
        k,
        process.getActiveResourcesInfo().filter((r) => r === k).length,
      ]),
    );
    const sandbox = await startSandbox();
    const c = await RawClient.connect(sandbox.msgServer.port);
    await c.login(1);
    await Promise.all([sandbox.close(), sandbox.close()]);
    await c.waitClosed();
    await expectNoLeaks(before, 'closed sandbox');
  });

  it('logs stored messages with their decrypted text at debug level when given the aesKey', async (t) => {
    const lines: { obj: Record<string, unknown>; msg?: string }[] = [];
    const log = (obj: object, msg?: string) => lines.push({ obj: obj as Record<string, unknown>, msg });
    const logger: Logger = { debug: log, info: log, warn: log, error: log };
    const { sandbox, connect } = await sandboxFor(t, { logger, aesKey: '12345678901234567890123456789012' });
    const c = await connect(sandbox.dbProxy.port);
    c.send(CommandId.MSG_DATA, msgData({ from: 1, to: 2, text: 'bonjour 你好' }), 1);
    await c.next();
    const stored = lines.find((l) => l.msg === 'db_proxy: IMMsgData stored');
    assert.equal(stored?.obj.text, 'bonjour 你好');
    assert.equal(stored?.obj.msgId, 1);
  });
});
