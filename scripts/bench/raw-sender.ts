/**
 * The floor of a drop-in: a bare node:http server (no Express, no Redis) that takes a send's JSON body, builds the
 * IMMsgData with @ttpush/pdu, stores it through a db_proxy pool, answers 200 with the msg_id once db_proxy replied,
 * then forwards the message to route_server. It reads both body shapes the bench sends: POST /v1/messages'
 * `{ from, to: { user }, content }` and /query/SendSingleMessage's `{ from_user_id, session_id, msg }`. A request
 * asking for `Connection: close` gets it, as the legacy API always answers.
 *
 *   node --import tsx scripts/bench/raw-sender.ts DB_PORT ROUTE_PORT [CONNECTIONS]   prints {"port":N} on stdout
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CommandId, DbProxyPool, RoutePool, TeamTalkCipher, im } from '@ttpush/pdu';

const [dbPort, routePort, connections] = process.argv.slice(2).map(Number);
const STOCK_AES_KEY = '12345678901234567890123456789012';
const cipher = new TeamTalkCipher(STOCK_AES_KEY);
const common = { requestTimeoutMs: 5000, maxInFlight: 4096, connectTimeoutMs: 2000 };
const db = new DbProxyPool({
  addresses: [{ host: '127.0.0.1', port: dbPort! }],
  connectionsPerServer: connections || 2,
  ...common,
});
const route = new RoutePool({ addresses: [{ host: '127.0.0.1', port: routePort! }], ...common });
await Promise.all([db.start(), route.start()]);

interface Body {
  from?: number;
  to?: { user?: number };
  content?: string;
  from_user_id?: number;
  session_id?: number;
  msg?: string;
}

async function send(body: Body): Promise<number> {
  const from = body.from ?? body.from_user_id ?? 0;
  const to = body.to?.user ?? body.session_id ?? 0;
  const msgData = Buffer.from(cipher.encryptToBase64(body.content ?? body.msg ?? ''), 'latin1');
  const m = {
    fromUserId: from,
    toSessionId: to,
    msgId: 0,
    createTime: Math.floor(Date.now() / 1000),
    msgType: im.MsgType.MSG_TYPE_SINGLE_TEXT,
    msgData,
  };
  const stored = await db.request(CommandId.MSG_DATA, m, { responseCommand: CommandId.MSG_DATA });
  if (stored.msgId !== 0) route.forward(CommandId.MSG_DATA, { ...m, msgId: stored.msgId });
  return stored.msgId;
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    send(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Body).then(
      (msgId) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(`{"error_code":0,"msg_id":${msgId}}`);
      },
      (err: Error) => {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: err.message }));
      },
    );
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void Promise.allSettled([db.close(), route.close()]).then(() => process.exit(0));
});
