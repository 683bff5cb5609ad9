/**
 * A real redis-server for the tests of one file: started before them, stopped after, with one connection
 * (`redis`) and more on demand (`connect()`), all closed at the end.
 *
 *   const r = useRedis();
 *   test('...', async () => { await r.redis.set('k', 'v'); });
 */
import { after, before } from 'node:test';
import { Redis } from 'ioredis';
import { RedisServer } from './redis-server.ts';

export interface TestRedis {
  readonly server: RedisServer;
  readonly url: string;
  /** The file's connection. */
  readonly redis: Redis;
  /** Another connection to the same server, closed after the file's tests. */
  connect(): Redis;
}

export function useRedis(): TestRedis {
  let server: RedisServer | undefined;
  const connections: Redis[] = [];
  const started = () => {
    if (!server) throw new Error('useRedis(): the server starts in a before() hook; use it inside a test');
    return server;
  };
  const handle: TestRedis = {
    get server() {
      return started();
    },
    get url() {
      return started().url;
    },
    get redis() {
      return connections[0] ?? handle.connect();
    },
    connect() {
      const c = new Redis(started().url);
      connections.push(c);
      return c;
    },
  };
  before(async () => {
    server = await RedisServer.start();
  });
  after(async () => {
    for (const c of connections) c.disconnect();
    await server?.stop();
  });
  return handle;
}
