/** One INFO section of a Redis server, over a bare socket (RESP inline command), as a map of its fields. */
import { connect } from 'node:net';

export function redisInfo(port: number, section: string): Promise<Map<string, string>> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1', () => sock.write(`INFO ${section}\r\n`));
    let got = '';
    sock.setTimeout(5000, () => sock.destroy(new Error('INFO timed out')));
    sock.on('error', reject);
    sock.on('data', (d) => {
      got += d.toString('latin1');
      // A bulk string: "$<length>\r\n<payload>\r\n".
      const head = /^\$(\d+)\r\n/.exec(got);
      if (!head || got.length < head[0].length + Number(head[1]) + 2) return;
      sock.end();
      const body = got.slice(head[0].length, head[0].length + Number(head[1]));
      const fields = new Map<string, string>();
      for (const line of body.split('\r\n')) {
        const colon = line.indexOf(':');
        if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
      }
      resolve(fields);
    });
  });
}

/** used_memory in bytes. */
export async function usedMemory(port: number): Promise<number> {
  return Number((await redisInfo(port, 'memory')).get('used_memory'));
}

/** The server's process id, for its CPU time. */
export async function redisPid(port: number): Promise<number> {
  return Number((await redisInfo(port, 'server')).get('process_id'));
}
