/**
 * Measures how many IMMsgData per second the sandbox db_proxy stores and answers for a pipelined
 * client. The sandbox runs in a child process (its own core); this process is the client, keeping
 * `--window` requests in flight over `--connections` connections for `--seconds`.
 *
 *   node --import tsx packages/sandbox/test/bench/db-proxy-throughput.ts [--seconds 5] [--window 4000] [--connections 1] [--realistic]
 */
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CommandId, FrameDecoder, TeamTalkCipher, encodePdu, im } from '@ttpush/pdu';

const { values } = parseArgs({
  options: {
    serve: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '5' },
    window: { type: 'string', default: '4000' },
    connections: { type: 'string', default: '1' },
    pairs: { type: 'string', default: '1000' },
    realistic: { type: 'boolean', default: false },
  },
});

if (values.serve) {
  const { startSandbox } = await import('../../src/index.ts');
  const sandbox = await startSandbox({ realistic: values.realistic });
  process.stdout.write(`${JSON.stringify({ port: sandbox.dbProxy.port })}\n`);
  // The client closes our stdin when it finishes or dies: never outlive it.
  const shutdown = () => {
    const s = sandbox.dbProxy.stats;
    process.stderr.write(
      `server stats: ${JSON.stringify({ stored: s.msgDataStored, replies: s.replies, rows: sandbox.store.count() })}\n`,
    );
    void sandbox.close().then(() => process.exit(0));
  };
  process.stdin.on('end', shutdown).resume();
} else {
  await runClient();
}

async function runClient(): Promise<void> {
  const seconds = Number(values.seconds);
  const window = Number(values.window);
  const connections = Number(values.connections);
  const pairs = Number(values.pairs);
  const self = fileURLToPath(import.meta.url);
  const child = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []),
      '--import',
      'tsx',
      self,
      '--serve',
      ...(values.realistic ? ['--realistic'] : []),
    ],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve((JSON.parse(d.toString()) as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });

  // Distinct pairs, a 20-byte text each: the PDUs are built once and re-sent.
  const text = new TeamTalkCipher('12345678901234567890123456789012').encryptToBase64('benchmark message 01');
  const pdus = Array.from({ length: pairs }, (_, i) =>
    encodePdu(
      CommandId.MSG_DATA,
      {
        fromUserId: 1000 + i,
        toSessionId: 500_000 + i,
        msgId: 0,
        createTime: 1_764_288_000,
        msgType: im.MsgType.MSG_TYPE_SINGLE_TEXT,
        msgData: Buffer.from(text),
        attachData: Buffer.from('bench-correlation-0001'),
      },
      i & 0xffff,
    ),
  );

  let replies = 0;
  let outOfOrder = 0;
  let sent = 0;
  let measuring = false;
  let measured = 0;
  const sockets: Socket[] = [];
  const perConn = Math.max(1, Math.floor(window / connections));
  for (let c = 0; c < connections; c++) {
    const socket = connect({ port, host: '127.0.0.1', noDelay: true });
    await new Promise((r) => socket.once('connect', r));
    sockets.push(socket);
    const decoder = new FrameDecoder();
    let next = c;
    let lastSeq = -1;
    const sendBatch = (n: number) => {
      const batch: Buffer[] = [];
      for (let i = 0; i < n; i++) {
        batch.push(pdus[next % pairs]!);
        next += connections;
      }
      sent += n;
      socket.write(Buffer.concat(batch));
    };
    socket.on('data', (chunk: Buffer) => {
      const frames = decoder.push(chunk);
      for (const f of frames) {
        if (f.commandId !== CommandId.MSG_DATA) continue;
        if (f.seqNum < lastSeq) outOfOrder++;
        lastSeq = f.seqNum;
      }
      replies += frames.length;
      if (measuring) measured += frames.length;
      sendBatch(frames.length);
    });
    sendBatch(perConn);
  }
  await new Promise((r) => setTimeout(r, 1000));
  measuring = true;
  const start = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  for (const s of sockets) s.destroy();
  const rate = Math.round(measured / elapsed);
  process.stdout.write(
    `${JSON.stringify({ repliesPerSecond: rate, window, connections, seconds: elapsed, sent, replies, outOfOrderShare: +(outOfOrder / Math.max(1, replies)).toFixed(3) })}\n`,
  );
  const exited = new Promise((r) => child.once('exit', r));
  child.stdin.end();
  await exited;
}
