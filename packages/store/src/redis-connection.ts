/**
 * Redis connections. Producers (the API) fail fast: no offline queue, a short command timeout, so a
 * request answers 503 at once while Redis is down. Consumers (workers) wait: maxRetriesPerRequest null.
 *
 * A target is a URL (one Redis) or the seed nodes of a Redis Cluster (TTPUSH_REDIS_CLUSTER_NODES). A Cluster
 * client is handed out typed as Redis: it answers the same commands, and ttpush sends it only scripts, MULTIs
 * and pipelines whose keys share one slot (keys.ts, partitions.ts).
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

export interface RedisNode {
  host: string;
  port: number;
}
export type RedisTarget = string | { clusterNodes: RedisNode[] };

/** The target configuration names: the cluster when seed nodes are set, else the URL, else none. */
export function redisTarget(config: {
  redisUrl: string | undefined;
  redisClusterNodes?: RedisNode[];
}): RedisTarget | undefined {
  if (config.redisClusterNodes && config.redisClusterNodes.length > 0)
    return { clusterNodes: config.redisClusterNodes };
  return config.redisUrl;
}

const retryStrategy = (attempt: number) => Math.min(100 * 2 ** Math.min(attempt, 5), 2000);

function cluster(nodes: RedisNode[], options: ClusterOptions): Redis {
  return new Cluster(nodes, options) as unknown as Redis;
}

export function producerRedis(target: RedisTarget, extra: RedisOptions = {}): Redis {
  const node: RedisOptions = {
    maxRetriesPerRequest: 1,
    commandTimeout: 3000,
    connectTimeout: 3000,
    ...extra,
  };
  if (typeof target !== 'string') {
    return cluster(target.clusterNodes, {
      enableOfflineQueue: false,
      // Commands issued in the same tick by concurrent requests go out as one write per node.
      enableAutoPipelining: true,
      clusterRetryStrategy: retryStrategy,
      redisOptions: node,
    });
  }
  return new Redis(target, {
    enableOfflineQueue: false,
    retryStrategy,
    lazyConnect: false,
    // Commands issued in the same tick by concurrent requests go out as one write.
    enableAutoPipelining: true,
    ...node,
  });
}

export function consumerRedis(target: RedisTarget, extra: RedisOptions = {}): Redis {
  const node: RedisOptions = { maxRetriesPerRequest: null, enableReadyCheck: true, ...extra };
  if (typeof target !== 'string') {
    return cluster(target.clusterNodes, {
      clusterRetryStrategy: retryStrategy,
      // A command that meets a failover waits for the cluster rather than failing: a consumer waits.
      retryDelayOnClusterDown: 200,
      enableAutoPipelining: extra.enableAutoPipelining ?? false,
      redisOptions: node,
    });
  }
  return new Redis(target, { retryStrategy, ...node });
}
