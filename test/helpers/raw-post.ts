import { connect } from 'node:net';

/**
 * One POST on a raw socket, read until the server closes: the legacy /query API answers `Connection:close`
 * with header lines Node's HTTP client would normalise, so tests read the exact bytes.
 */
export function rawPost(port: number, path: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let out = '';
    sock.on('data', (d) => (out += d.toString('utf8')));
    sock.on('end', () => resolve(out));
    sock.on('error', reject);
    sock.write(
      `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  });
}
