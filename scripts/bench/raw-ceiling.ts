/**
 * The raw ceiling: a minimal pipelined PDU sender, no Redis and no HTTP. Over `connections` db_proxy connections
 * it keeps `window` IMMsgData in flight per connection (distinct user pairs, one text encrypted once) and forwards
 * every reply to route_server, for `seconds`. What ttpush's fan-out is compared with, in rate and in CPU time per
 * message (this process's, which does nothing else meanwhile).
 */
import { connect, type Socket } from 'node:net';
import { CommandId, FrameDecoder, TeamTalkCipher, encodePdu, encodeFrame, im } from '@ttpush/pdu';

export async function rawCeiling(
  dbPort: number,
  routePort: number,
  connections: number,
  window: number,
  seconds: number,
): Promise<{ rate: number; cpuUsPerMsg: number }> {
  const cipher = new TeamTalkCipher('12345678901234567890123456789012');
  const msgData = Buffer.from(cipher.encryptToBase64('raw ceiling marketing text'), 'latin1');
  const open = (port: number) =>
    new Promise<Socket>((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
  const route = await open(routePort);
  route.on('data', () => undefined);
  let next = 1;
  let replies = 0;
  let running = true;
  const socks = await Promise.all(Array.from({ length: connections }, () => open(dbPort)));
  const send = (s: Socket) => {
    const to = 2_000_000 + next++;
    s.write(
      encodePdu(
        CommandId.MSG_DATA,
        {
          fromUserId: 1,
          toSessionId: to,
          msgId: 0,
          createTime: 1_800_000_000,
          msgType: im.MsgType.MSG_TYPE_SINGLE_TEXT,
          msgData,
          attachData: Buffer.from([1, 2, 3, 4]),
        },
        to & 0xffff,
      ),
    );
  };
  for (const s of socks) {
    const decoder = new FrameDecoder();
    s.on('data', (chunk) => {
      const out: Buffer[] = [];
      for (const f of decoder.push(chunk)) {
        if (f.commandId !== CommandId.MSG_DATA) continue;
        replies++;
        out.push(encodeFrame({ commandId: CommandId.MSG_DATA }, f.body));
        if (running) send(s);
      }
      if (out.length) route.write(Buffer.concat(out));
    });
    s.cork();
    for (let i = 0; i < window; i++) send(s);
    s.uncork();
  }
  const start = Date.now();
  const startReplies = replies;
  const cpu0 = process.cpuUsage();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpu = process.cpuUsage(cpu0);
  const done = replies - startReplies;
  const rate = done / ((Date.now() - start) / 1000);
  running = false;
  for (const s of [...socks, route]) s.destroy();
  return { rate, cpuUsPerMsg: (cpu.user + cpu.system) / done };
}
