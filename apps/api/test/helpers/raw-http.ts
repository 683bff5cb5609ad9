/**
 * A raw TCP HTTP client: writes a request byte for byte and returns every byte the server sent until
 * it closed the connection, so tests see the real header lines (Node's parsers would normalise them).
 */
import { connect } from 'node:net';

export interface RawRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export function buildRequest(req: RawRequest): Buffer {
  const body = typeof req.body === 'string' ? Buffer.from(req.body, 'utf8') : (req.body ?? Buffer.alloc(0));
  const headers: Record<string, string> = { host: '127.0.0.1', ...req.headers };
  if (req.body !== undefined) headers['content-length'] = String(body.length);
  const head =
    `${req.method ?? 'POST'} ${req.path} HTTP/1.1\r\n` +
    Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('') +
    '\r\n';
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/** Sends `request` and resolves with all bytes once the server closes; rejects after `timeoutMs`. */
export function rawExchange(port: number, request: Buffer, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server did not close the connection within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('end', () => {
      clearTimeout(timer);
      socket.end();
      resolve(Buffer.concat(chunks));
    });
  });
}

export function rawPost(port: number, path: string, body: string | Buffer, headers: Record<string, string> = {}) {
  return rawExchange(port, buildRequest({ path, body, headers: { 'content-type': 'application/json', ...headers } }));
}
