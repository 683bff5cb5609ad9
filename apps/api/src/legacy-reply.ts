/**
 * The old http_msg_server's reply, byte for byte (protocol notes §9): HTTP 200 with header lines
 * written without a space after the colon, then jsoncpp's styled JSON (keys error_code, error_msg,
 * then msg_id or group_id; three-space indent; `" : "`; raw UTF-8; trailing newline). Node's HTTP writer always
 * puts ": " between a header's name and value, so the head is made here and handed to the response as its
 * ready-made head; the response still goes through Node's queue (a reply to a pipelined request waits for the
 * answers before it), and the connection is closed after it, as the old server did.
 */
import type { Response } from 'express';
import { locals } from './locals.ts';

/** error_code values and their texts (the C++ table, where code 10 carries 服务器异常). */
export const LEGACY_CODES = {
  ok: [0, '成功'],
  bad_params: [1, '参数错误'],
  unknown_app_key: [2, 'appKey不存在'],
  app_key_user_mismatch: [3, 'appKey与用户不匹配'],
  unknown_error: [8, '未知错误'],
  server_error: [10, '服务器异常'],
  create_group_failed: [11, '创建群失败'],
  change_members_failed: [12, '更改群成员失败'],
} as const satisfies Record<string, readonly [number, string]>;

export type LegacyCode = keyof typeof LEGACY_CODES;

/** A success carries the msg_id (Send*), the group_id (CreateGroup) or nothing more (ChangeMembers). */
export type LegacyReply =
  | { code: 'ok'; msgId: number }
  | { code: 'ok'; groupId: number }
  | { code: 'ok' }
  | { code: Exclude<LegacyCode, 'ok'> };

/** jsoncpp's quoting: `"` `\` and control characters escaped, everything else (non-ASCII too) raw. */
function quote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20) out += `\\u${c.toString(16).toUpperCase().padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** jsoncpp StyledWriter output for a flat object; jsoncpp orders keys by name, which these already are. */
export function styledJson(entries: readonly (readonly [string, number | string])[]): string {
  const lines = entries.map(([k, v]) => `   ${quote(k)} : ${typeof v === 'number' ? String(v) : quote(v)}`);
  return `{\n${lines.join(',\n')}\n}\n`;
}

export function legacyBody(reply: LegacyReply): string {
  const [code, text] = LEGACY_CODES[reply.code];
  const entries: [string, number | string][] = [
    ['error_code', code],
    ['error_msg', text],
  ];
  if ('msgId' in reply) entries.push(['msg_id', reply.msgId]);
  if ('groupId' in reply) entries.push(['group_id', reply.groupId]);
  return styledJson(entries);
}

/** The head of the old reply for a body of `length` bytes. */
function legacyHead(length: number): string {
  return (
    'HTTP/1.1 200 OK\r\n' +
    'Cache-Control:no-cache\r\n' +
    'Connection:close\r\n' +
    `Content-Length:${length}\r\n` +
    'Content-Type:text/html;charset=utf-8\r\n\r\n'
  );
}

export function legacyResponseBytes(reply: LegacyReply): Buffer {
  const body = Buffer.from(legacyBody(reply), 'utf8');
  return Buffer.concat([Buffer.from(legacyHead(body.length), 'latin1'), body]);
}

/**
 * The fields of Node's OutgoingMessage (node:_http_outgoing) that carry a head already made: end() writes
 * `_header` before the body, as it would a head it built itself, and `_last` / `shouldKeepAlive` make the
 * server destroy the connection once the reply is written (socket.destroySoon), answers queued before it first. They have been stable from Node 0.x to 24.
 */
interface RawHead {
  _header: string | null;
  _last: boolean;
  shouldKeepAlive: boolean;
}

/**
 * Ends the response with the old reply. Through the response, not the socket: a reply to the second of two
 * pipelined requests is written only after the first one's answer, and the request's log line and metrics
 * come from the response's own finish.
 */
export function sendLegacyReply(res: Response, reply: LegacyReply): void {
  const l = locals(res);
  if (res.headersSent || res.writableEnded) {
    res.destroy();
    l.complete();
    return;
  }
  const body = Buffer.from(legacyBody(reply), 'utf8');
  res.statusCode = 200;
  const raw = res as unknown as RawHead;
  raw._header = legacyHead(body.length);
  raw._last = true;
  raw.shouldKeepAlive = false;
  res.end(body);
}
