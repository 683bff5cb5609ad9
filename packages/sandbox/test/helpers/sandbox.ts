/**
 * Test helpers: a sandbox per test that is closed (with every client) when the test ends, and
 * fails the test if a socket, server or timer it created is still alive afterwards.
 */
import type { TestContext } from 'node:test';
import { RawClient } from '@ttpush/testkit';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../src/index.ts';

const TRACKED = ['TCPSocketWrap', 'TCPServerWrap', 'Timeout', 'Immediate'];

function resourceCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) {
    if (TRACKED.includes(r)) counts.set(r, (counts.get(r) ?? 0) + 1);
  }
  return counts;
}

/** Waits (bounded) until no more sockets, servers, timers or immediates are alive than at `before`. */
export async function expectNoLeaks(before: Map<string, number>, label: string): Promise<void> {
  const deadline = Date.now() + 2000;
  for (;;) {
    const now = resourceCounts();
    const leaked = TRACKED.filter((k) => (now.get(k) ?? 0) > (before.get(k) ?? 0));
    if (leaked.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(
        `${label}: left behind ${leaked.map((k) => `${k} ×${(now.get(k) ?? 0) - (before.get(k) ?? 0)}`).join(', ')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface TestSandbox {
  sandbox: Sandbox;
  /** A raw client connected to a port, closed when the test ends. */
  connect(port: number): Promise<RawClient>;
  /** A client logged in to the sandbox msg_server as `userId`. */
  login(userId: number, clientType?: number): Promise<RawClient>;
}

export async function sandboxFor(t: TestContext, opts: SandboxOptions = {}): Promise<TestSandbox> {
  const before = resourceCounts();
  const sandbox = await startSandbox(opts);
  const clients: RawClient[] = [];
  t.after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await sandbox.close();
    await expectNoLeaks(before, t.name);
  });
  const connect = async (port: number) => {
    const c = await RawClient.connect(port);
    clients.push(c);
    return c;
  };
  return {
    sandbox,
    connect,
    login: async (userId, clientType) => {
      const c = await connect(sandbox.msgServer.port);
      const res = await c.login(userId, clientType === undefined ? {} : { clientType });
      if (res.resultCode !== 0) throw new Error(`login as ${userId} refused: ${res.resultCode}`);
      return c;
    },
  };
}

/** Waits (bounded, real time) until `cond()` holds: for state the servers reach asynchronously. */
export async function eventually(cond: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
