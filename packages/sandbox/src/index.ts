export { startSandbox, type Sandbox, type SandboxOptions } from './sandbox.ts';
export {
  DbProxyServer,
  DEFAULT_MAX_CONTENT_CHARS,
  REALISTIC_LATENCY,
  type DbProxyFault,
  type DbProxyStats,
  type DbProxyEvents,
  type RequestInfo,
} from './db-proxy-server.ts';
export { DbThreadPool, DEFAULT_THREAD_POOL, type ThreadPoolOptions } from './db-thread-pool.ts';
export { RouteServer, ROUTE_TO_ALL, ROUTE_TO_OTHERS, type RouteRole, type RouteStats } from './route-server.ts';
export { MsgServer, MAX_MSG_PER_SECOND, type MsgServerStats } from './msg-server.ts';
export type { LinkStatus } from './upstream-link.ts';
export type { ServerFault, StopReceiveOptions } from './peer-server.ts';
export { SandboxStore, type StoredMessage, type GroupRecord, type CreateGroupInput } from './store.ts';
export { defaultTiming, type SandboxTiming } from './timing.ts';
export { seededRandom, type RandomSource } from './random.ts';
export { userIdFromLoginName, userInfoFor } from './user-validation.ts';
