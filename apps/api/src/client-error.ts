/**
 * Node answers requests its HTTP parser refuses (bad request line, headers too large) before Express
 * sees them, with a bare text 400. Wire this as `server.on('clientError', onClientError)` so those
 * get a JSON body too.
 */
import type { Duplex } from 'node:stream';

export function onClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const [status, text, code, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [
          431,
          'Request Header Fields Too Large',
          'invalid_field',
          'the request headers are too large: send smaller headers',
        ]
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'invalid_field', 'the request took too long to arrive: send it again']
        : [
            400,
            'Bad Request',
            'invalid_field',
            'the request is not valid HTTP/1.1: check the request line and headers',
          ];
  const body = JSON.stringify({ error: { code, message, field: null } });
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
