/**
 * The old http_msg_server's reply, byte for byte (protocol notes §9): HTTP 200 with header lines
 * written without a space after the colon, then jsoncpp's styled JSON (keys error_code, error_msg,
 * then msg_id or group_id; three-space indent; `" : "`; raw UTF-8; trailing newline). Node's HTTP writer always
 * puts ": " between a header's name and value, so the reply is written on the socket itself, and the
 * connection is closed after it, as the old server did.
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

/** How long a connection whose reply was written may stay half-open before it is destroyed. */
const LINGER_MS = 5000;

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

export function legacyResponseBytes(reply: LegacyReply): Buffer {
  const body = Buffer.from(legacyBody(reply), 'utf8');
  const head =
    'HTTP/1.1 200 OK\r\n' +
    'Cache-Control:no-cache\r\n' +
    'Connection:close\r\n' +
    `Content-Length:${body.length}\r\n` +
    'Content-Type:text/html;charset=utf-8\r\n\r\n';
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/** Writes the reply on the response's socket and closes it; the Express response is never used after this. */
export function sendLegacyReply(res: Response, reply: LegacyReply): void {
  const l = locals(res);
  res.statusCode = 200;
  const socket = res.socket ?? res.req.socket;
  if (!socket.destroyed && socket.writable) {
    socket.setTimeout(LINGER_MS, () => socket.destroy());
    socket.end(legacyResponseBytes(reply));
  }
  l.complete();
}
