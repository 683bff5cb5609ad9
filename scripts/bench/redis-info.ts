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

/**
 * Bytes (MEMORY USAGE) of the keys matching any of `patterns`, summed in one script: the bench tells the capped
 * structures (the recent index, BullMQ's event streams) apart from what a message keeps.
 */
export async function keyBytes(port: number, patterns: readonly string[]): Promise<number> {
  const lua = `local t = 0
for _, p in ipairs(ARGV) do
  local c = '0'
  repeat
    local r = redis.call('SCAN', c, 'MATCH', p, 'COUNT', 1000)
    c = r[1]
    for _, k in ipairs(r[2]) do t = t + (redis.call('MEMORY', 'USAGE', k, 'SAMPLES', '0') or 0) end
  until c == '0'
end
return t`;
  const reply = await redisCommand(port, ['EVAL', lua, '0', ...patterns]);
  return Number(reply);
}

/** One command over a bare socket (RESP); the reply's first line, or the payload of a bulk string. */
function redisCommand(port: number, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1', () =>
      sock.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`),
    );
    let got = '';
    sock.setTimeout(30_000, () => sock.destroy(new Error(`${args[0]} timed out`)));
    sock.on('error', reject);
    sock.on('data', (d) => {
      got += d.toString('latin1');
      const eol = got.indexOf('\r\n');
      if (eol < 0) return;
      const kind = got[0];
      if (kind === '$') {
        const len = Number(got.slice(1, eol));
        if (got.length < eol + 2 + len + 2) return;
        sock.end();
        return resolve(got.slice(eol + 2, eol + 2 + len));
      }
      sock.end();
      if (kind === '-') return reject(new Error(got.slice(1, eol)));
      resolve(got.slice(1, eol));
    });
  });
}
