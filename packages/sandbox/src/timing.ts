/**
 * Time constants of the real servers (notes §6-§8), overridable so tests need not wait for them.
 */

export interface SandboxTiming {
  /** How often each server checks its connections (the real servers run a 1 s timer). */
  checkIntervalMs: number;
  /** A server-to-server link that sent nothing for this long sends IMHeartBeat (5 s). */
  heartbeatMs: number;
  /** A server-to-server link heard from for this long is closed (30 s). */
  idleTimeoutMs: number;
  /** msg_server drops a PC client silent this long (120 s). */
  clientTimeoutMs: number;
  /** msg_server drops a mobile client (iOS, Android) silent this long (300 s). */
  mobileClientTimeoutMs: number;
  /** msg_server closes a connection that has not logged in this long after connecting (15 s). */
  loginTimeoutMs: number;
  /** msg_server's first retry delay towards db_proxy / route; doubles up to `reconnectMaxMs`. */
  reconnectMs: number;
  reconnectMaxMs: number;
}

export const defaultTiming: SandboxTiming = {
  checkIntervalMs: 1000,
  heartbeatMs: 5000,
  idleTimeoutMs: 30_000,
  clientTimeoutMs: 120_000,
  mobileClientTimeoutMs: 300_000,
  loginTimeoutMs: 15_000,
  reconnectMs: 100,
  reconnectMaxMs: 2000,
};
