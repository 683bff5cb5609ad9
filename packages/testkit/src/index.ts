export * from './vectors.ts';
export * from './ports.ts';
export * from './redis-server.ts';
export * from './redis-cluster.ts';
export * from './fake-timers.ts';
export * from './teamtalk-peer.ts';
export * from './use-redis.ts';
