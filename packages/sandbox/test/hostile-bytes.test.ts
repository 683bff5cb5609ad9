/**
 * A bounded fuzz: random and hostile bytes at each of the three ports (zero, tiny and huge
 * lengths, truncated PDUs, unknown commands, garbage bodies of every command, random streams),
 * then a normal client must still be served on each, and msg_server's own links must be up.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CommandId, DEFAULT_MAX_PDU_LENGTH, encodeFrame, encodePdu } from '@ttpush/pdu';
import { RawClient } from '@ttpush/testkit';
import { ROUTE_TO_OTHERS, seededRandom, type RandomSource } from '../src/index.ts';
import { sandboxFor } from './helpers/sandbox.ts';
import { msgData } from './helpers/messages.ts';

const COMMANDS = [...Object.values(CommandId), ...ROUTE_TO_OTHERS, 0x0215, 0x0000, 0xffff, 0x0999];

function randomBytes(random: RandomSource, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(random() * 256);
  return b;
}

function header(length: number, commandId: number): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt32BE(length >>> 0, 0);
  h.writeUInt16BE(1, 4);
  h.writeUInt16BE(commandId >>> 8, 8);
  h.writeUInt16BE(commandId & 0xffff, 10);
  return h;
}

/** Hostile inputs, each sent on a connection of its own. */
function hostileInputs(random: RandomSource): Buffer[] {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  const out: Buffer[] = [];
  for (const len of [0, 1, 4, 15, 0xffffffff, 0x7fffffff, DEFAULT_MAX_PDU_LENGTH + 1]) {
    out.push(Buffer.concat([header(len, CommandId.MSG_DATA), randomBytes(random, 32)]));
  }
  // A valid frame, then one with a bad length: the first is handled, the connection then closes.
  out.push(Buffer.concat([encodePdu(CommandId.OTHER_HEARTBEAT, {}), header(3, CommandId.MSG_DATA)]));
  // Claims the maximum, sends a little, and goes away.
  out.push(Buffer.concat([header(DEFAULT_MAX_PDU_LENGTH, CommandId.MSG_DATA), randomBytes(random, 100)]));
  for (let i = 0; i < 40; i++) {
    const cmd = pick(COMMANDS);
    const body = randomBytes(random, Math.floor(random() * 300));
    const frame = encodeFrame({ commandId: cmd, seqNum: i }, body);
    // Whole garbage bodies, truncated frames, several glued together.
    out.push(frame);
    out.push(frame.subarray(0, Math.max(1, Math.floor(random() * frame.length))));
    out.push(
      Buffer.concat([frame, encodeFrame({ commandId: pick(COMMANDS), seqNum: 1 }, randomBytes(random, 20)), frame]),
    );
  }
  for (let i = 0; i < 30; i++) out.push(randomBytes(random, 1 + Math.floor(random() * 2000)));
  return out;
}

async function throwAt(port: number, inputs: Buffer[]): Promise<void> {
  for (const input of inputs) {
    const c = await RawClient.connect(port);
    c.sendRaw(input);
    await new Promise((r) => setImmediate(r));
    await c.close();
  }
}

describe('hostile bytes', () => {
  it('closes only the offending connections and keeps serving normal clients on all three ports', async (t) => {
    const { sandbox, connect, login } = await sandboxFor(t, { groups: { '5': [1, 2] } });
    const random = seededRandom(20261128);
    const bystander = await login(2);
    for (const port of [sandbox.dbProxy.port, sandbox.route.port, sandbox.msgServer.port]) {
      await throwAt(port, hostileInputs(random));
    }
    // A framing fault on an open connection closes it.
    for (const port of [sandbox.dbProxy.port, sandbox.route.port, sandbox.msgServer.port]) {
      const c = await connect(port);
      c.sendRaw(header(0, CommandId.MSG_DATA));
      await c.waitClosed();
    }
    for (const server of [sandbox.dbProxy, sandbox.route, sandbox.msgServer]) {
      assert.ok(server.framingFaults >= 10, `${server.name}: ${server.framingFaults} framing faults`);
    }
    assert.ok(sandbox.dbProxy.stats.parseErrors > 0 && sandbox.dbProxy.stats.unknownCommands > 0);
    assert.equal(bystander.closed, false, 'a client that did nothing wrong stays connected');
    assert.deepEqual(sandbox.msgServer.upstream, { db: 'ready', route: 'ready' });

    const db = await connect(sandbox.dbProxy.port);
    db.send(CommandId.MSG_DATA, msgData({ from: 1, to: 2 }), 1);
    assert.ok((await db.nextBody(CommandId.MSG_DATA)).body.msgId > 0);

    const r1 = await connect(sandbox.route.port);
    const r2 = await connect(sandbox.route.port);
    r1.send(CommandId.OTHER_ROLE_SET, { master: 1 });
    r1.send(CommandId.MSG_DATA, { ...msgData({ from: 3, to: 4 }), msgId: 1 }, 2);
    assert.equal((await r2.next((f) => f.commandId === CommandId.MSG_DATA)).seqNum, 2);

    const client = await login(1);
    client.send(CommandId.MSG_DATA, msgData({ from: 1, to: 2 }), 3);
    assert.ok((await client.nextBody(CommandId.MSG_DATA_ACK)).body.msgId > 0);
    await bystander.next((f) => f.commandId === CommandId.MSG_DATA && f.seqNum === 0);
  });
});
