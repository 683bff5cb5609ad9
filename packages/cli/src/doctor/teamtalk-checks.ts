/**
 * The doctor's TeamTalk checks, per configured address. db_proxy_server: TCP, a heartbeat answered (the
 * servers send IMHeartBeat on a connection idle for 5 s, protocol notes §6), a read of the probe pair's
 * conversation (MSG_GET_LATEST_MSG_ID, then MSG_LIST for its newest message) and whether that message
 * decrypts with the configured AES key. route_server: TCP, heartbeat, and which one ttpush makes master
 * (the first ready in configured order, pool-route.ts). Reads only: the doctor never stores or forwards.
 */
import type { Config } from '@ttpush/config';
import { CipherError, CommandId, TeamTalkCipher, decodeBody, encodePdu, im, type Frame } from '@ttpush/pdu';
import { fail, ok, warn, type Check } from './check.ts';
import { ServerProbe } from './server-probe.ts';

export interface TeamTalkCheckOptions {
  /** TCP connect and each request's reply. */
  timeoutMs: number;
  /** How long to wait for the server's heartbeat (it comes after 5 s of silence). */
  heartbeatWaitMs: number;
  /** `--probe-pair A,B`: a conversation to read and try the AES key on. */
  probePair: readonly [number, number] | undefined;
}

interface Address {
  host: string;
  port: number;
}

const HEARTBEAT = encodePdu(CommandId.OTHER_HEARTBEAT, {});
const ATTACH = Buffer.from('ttpush-doctor');
const isHeartbeat = (f: Frame) => f.commandId === CommandId.OTHER_HEARTBEAT;
const KEY_FIX =
  "set TTPUSH_AES_KEY to the aesKey of the TeamTalk servers' configuration (dbproxyserver.conf / msgserver.conf): with another key, every message ttpush sends is unreadable in the clients";

interface Reached {
  checks: Check[];
  /** TCP connected and the heartbeat came. */
  alive: boolean;
}

/** TCP and heartbeat of one address. */
async function reach(
  role: string,
  fixVar: string,
  a: Address,
  opts: TeamTalkCheckOptions,
  connectMs: number,
): Promise<Reached> {
  const label = `${role} ${a.host}:${a.port}`;
  const started = Date.now();
  let probe: ServerProbe;
  try {
    probe = await ServerProbe.open(a.host, a.port, connectMs);
  } catch (err) {
    return {
      alive: false,
      checks: [
        fail(
          label,
          `TCP connect failed: ${(err as Error).message}`,
          `start ${role}_server there, or correct ${fixVar}`,
        ),
      ],
    };
  }
  const checks = [ok(label, `TCP connected in ${Date.now() - started} ms`)];
  try {
    probe.write(HEARTBEAT);
    const since = Date.now();
    await probe.waitFor(isHeartbeat, opts.heartbeatWaitMs, 'heartbeat');
    checks.push(ok(`${label} heartbeat`, `answered after ${((Date.now() - since) / 1000).toFixed(1)} s`));
    return { alive: true, checks };
  } catch (err) {
    checks.push(
      fail(
        `${label} heartbeat`,
        (err as Error).message,
        `check that ${a.host}:${a.port} is a ${role}_server (it sends IMHeartBeat every 5 s on an idle connection) and not another service`,
      ),
    );
    return { alive: false, checks };
  } finally {
    probe.close();
  }
}

let nextSeq = 1;

async function request<R extends CommandId>(
  probe: ServerProbe,
  pdu: (seq: number) => Buffer,
  reply: R,
  timeoutMs: number,
  what: string,
): Promise<Frame> {
  const seq = nextSeq++ & 0xffff;
  probe.write(pdu(seq));
  return probe.waitFor((f) => f.commandId === reply && f.seqNum === seq, timeoutMs, `answer to ${what}`);
}

/** Reads the probe pair's conversation and tries the AES key on its newest text message. */
async function readConversation(
  label: string,
  a: Address,
  pair: readonly [number, number],
  cipher: TeamTalkCipher,
  opts: TeamTalkCheckOptions,
  connectMs: number,
): Promise<Check[]> {
  const [userId, sessionId] = pair;
  const conv = `conversation ${userId}↔${sessionId}`;
  let probe: ServerProbe;
  try {
    probe = await ServerProbe.open(a.host, a.port, connectMs);
  } catch (err) {
    return [fail(`${label} read`, `TCP connect failed: ${(err as Error).message}`, 'see the TCP check above')];
  }
  try {
    const sessionType = im.SessionType.SESSION_TYPE_SINGLE;
    let latest: number;
    try {
      const frame = await request(
        probe,
        (seq) =>
          encodePdu(CommandId.MSG_GET_LATEST_MSG_ID_REQ, { userId, sessionType, sessionId, attachData: ATTACH }, seq),
        CommandId.MSG_GET_LATEST_MSG_ID_RSP,
        opts.timeoutMs,
        'MSG_GET_LATEST_MSG_ID',
      );
      latest = decodeBody(CommandId.MSG_GET_LATEST_MSG_ID_RSP, frame.body).latestMsgId;
    } catch (err) {
      return [
        fail(
          `${label} read`,
          `MSG_GET_LATEST_MSG_ID for ${conv}: ${(err as Error).message}`,
          'db_proxy_server does not answer reads: check its database connection and its log (a parked worker thread answers some requests never, notes §10)',
        ),
      ];
    }
    const checks = [ok(`${label} read`, `MSG_GET_LATEST_MSG_ID for ${conv} answered: latest msg_id ${latest}`)];
    if (latest === 0) {
      checks.push(
        warn(
          `${label} AES key`,
          `not checked: ${conv} holds no message to decrypt`,
          'give --probe-pair two users who have exchanged a message (sent by a TeamTalk client or by ttpush)',
        ),
      );
      return checks;
    }
    let list: im.IMGetMsgListRsp;
    try {
      const frame = await request(
        probe,
        (seq) =>
          encodePdu(
            CommandId.MSG_LIST_REQUEST,
            { userId, sessionType, sessionId, msgIdBegin: 0, msgCnt: 10, attachData: ATTACH },
            seq,
          ),
        CommandId.MSG_LIST_RESPONSE,
        opts.timeoutMs,
        'MSG_LIST',
      );
      list = decodeBody(CommandId.MSG_LIST_RESPONSE, frame.body);
    } catch (err) {
      checks.push(
        fail(
          `${label} AES key`,
          `not checked: MSG_LIST for ${conv}: ${(err as Error).message}`,
          'see the read check above',
        ),
      );
      return checks;
    }
    const text = list.msgList.find(
      (m) => m.msgType === im.MsgType.MSG_TYPE_SINGLE_TEXT || m.msgType === im.MsgType.MSG_TYPE_GROUP_TEXT,
    );
    if (text === undefined) {
      checks.push(
        warn(
          `${label} AES key`,
          `not checked: no text message among the newest of ${conv}`,
          'give --probe-pair two users who have exchanged a text',
        ),
      );
      return checks;
    }
    checks.push(
      keyCheck(`${label} AES key`, `the newest text of ${conv} (msg_id ${text.msgId})`, text.msgData, cipher),
    );
    return checks;
  } finally {
    probe.close();
  }
}

/** Whether `msgData` decrypts, with zero padding and UTF-8 text, under the configured key. */
function keyCheck(name: string, what: string, msgData: Uint8Array, cipher: TeamTalkCipher): Check {
  try {
    const plain = cipher.decrypt(msgData);
    new TextDecoder('utf-8', { fatal: true }).decode(plain);
    return ok(name, `${what} decrypts with TTPUSH_AES_KEY`);
  } catch (err) {
    const code = err instanceof CipherError ? ` (${err.code})` : ' (not UTF-8 text)';
    return fail(name, `${what} does not decrypt with TTPUSH_AES_KEY${code}: the AES key is wrong`, KEY_FIX);
  }
}

export async function dbProxyChecks(config: Config, opts: TeamTalkCheckOptions): Promise<Check[]> {
  if (config.dbProxyAddrs.length === 0) {
    return [
      warn(
        'db_proxy',
        'TTPUSH_DB_PROXY_ADDRS is unset: `ttpush start` would run the sandbox TeamTalk (development only)',
        'set TTPUSH_DB_PROXY_ADDRS and TTPUSH_ROUTE_ADDRS to your TeamTalk servers',
      ),
    ];
  }
  const connectMs = Math.min(config.teamtalk.connectTimeoutMs, opts.timeoutMs);
  const cipher = new TeamTalkCipher(config.aesKey);
  const perAddress = await Promise.all(
    config.dbProxyAddrs.map(async (a) => {
      const label = `db_proxy ${a.host}:${a.port}`;
      const reading =
        opts.probePair === undefined ? undefined : readConversation(label, a, opts.probePair, cipher, opts, connectMs);
      const reached = await reach('db_proxy', 'TTPUSH_DB_PROXY_ADDRS', a, opts, connectMs);
      const read = await reading;
      if (read === undefined) {
        if (reached.alive) {
          reached.checks.push(
            warn(
              `${label} AES key`,
              'not checked: no --probe-pair given',
              'run `ttpush doctor --probe-pair A,B` with two users who have exchanged a message, to read it back and try the AES key on it',
            ),
          );
        }
        return reached.checks;
      }
      // A read of an address that does not connect repeats the TCP failure: the TCP line says it.
      return reached.checks[0]?.status === 'fail' ? reached.checks : [...reached.checks, ...read];
    }),
  );
  return perAddress.flat();
}

export async function routeChecks(config: Config, opts: TeamTalkCheckOptions): Promise<Check[]> {
  if (config.routeAddrs.length === 0) {
    return [
      warn(
        'route',
        'TTPUSH_ROUTE_ADDRS is unset: `ttpush start` would run the sandbox TeamTalk (development only)',
        'set TTPUSH_ROUTE_ADDRS to your route_server addresses',
      ),
    ];
  }
  const connectMs = Math.min(config.teamtalk.connectTimeoutMs, opts.timeoutMs);
  const reached = await Promise.all(
    config.routeAddrs.map((a) => reach('route', 'TTPUSH_ROUTE_ADDRS', a, opts, connectMs)),
  );
  const checks = reached.flatMap((r) => r.checks);
  const master = reached.findIndex((r) => r.alive);
  if (master === -1) {
    checks.push(
      fail(
        'route master',
        'no route_server answers: messages would be stored but not pushed to online clients',
        'start a route_server, or correct TTPUSH_ROUTE_ADDRS',
      ),
    );
  } else {
    const a = config.routeAddrs[master]!;
    const others = config.routeAddrs.length - 1;
    checks.push(
      ok(
        'route master',
        `${a.host}:${a.port}: ttpush forwards through the first ready route_server in TTPUSH_ROUTE_ADDRS order${others > 0 ? ` (${others} other${others > 1 ? 's' : ''} on standby)` : ''}`,
      ),
    );
  }
  return checks;
}
