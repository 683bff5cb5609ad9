/**
 * Redis connections. Producers (the API) fail fast: no offline queue, a short command timeout, so a
 * request answers 503 at once while Redis is down. Consumers (workers) wait: maxRetriesPerRequest null.
 */
import { Redis, type RedisOptions } from 'ioredis';

export function producerRedis(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 3000,
    connectTimeout: 3000,
    retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 5), 2000),
    lazyConnect: false,
    // Commands issued in the same tick by concurrent requests go out as one write.
    enableAutoPipelining: true,
    ...extra,
  });
}

export function consumerRedis(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 5), 2000),
    ...extra,
  });
}
