/**
 * Starts `ttpush sandbox` as a real process on free ports and waits until it says where it listens.
 */
import { freePort } from '@ttpush/testkit';
import { ttpush, type TtpushProcess } from './spawn-ttpush.ts';

export interface SandboxPorts {
  readonly db: number;
  readonly route: number;
  readonly msg: number;
}

/** Three distinct ports that were free a moment ago. */
export async function freePorts3(): Promise<SandboxPorts> {
  const ports = new Set<number>();
  while (ports.size < 3) ports.add(await freePort());
  const [db, route, msg] = [...ports] as [number, number, number];
  return { db, route, msg };
}

export function portArgs(ports: SandboxPorts): string[] {
  return ['--db-port', String(ports.db), '--route-port', String(ports.route), '--msg-port', String(ports.msg)];
}

/** A running sandbox process, killed when the test (or suite) ends. */
export async function startSandboxProcess(
  t: { after(fn: () => unknown): void },
  ...extra: string[]
): Promise<{ proc: TtpushProcess; ports: SandboxPorts }> {
  const ports = await freePorts3();
  const proc = ttpush('sandbox', ...portArgs(ports), ...extra);
  t.after(() => proc.kill());
  await proc.waitFor(/msg_server listening on \S+:\d+\n/);
  return { proc, ports };
}
