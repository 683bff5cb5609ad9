/**
 * What the db_proxy and route pools share: server addresses, the per-connection options they pass
 * through, their status snapshots, and the POOL_UNAVAILABLE error that names every server's state.
 */
import { ConnectionError } from './errors.ts';
import type { ConnectionStatus, TeamTalkConnection, TeamTalkConnectionOptions } from './connection.ts';

export interface ServerAddress {
  readonly host: string;
  readonly port: number;
}

/** Connection options a pool passes to each of its connections (it sets address, name and onConnect itself). */
export type PoolConnectionOptions = Omit<TeamTalkConnectionOptions, 'host' | 'port' | 'name' | 'onConnect'>;

/** One connection of a pool, for metrics and logs. */
export interface PoolMember {
  /** `host:port` of the server. */
  readonly address: string;
  /** The connection's name (the address, plus `#n` when a server has several connections). */
  readonly name: string;
  readonly status: ConnectionStatus;
  readonly inFlight: number;
}

export function formatAddress(address: ServerAddress): string {
  return `${address.host}:${address.port}`;
}

export function memberOf(connection: TeamTalkConnection): PoolMember {
  return {
    address: formatAddress(connection),
    name: connection.name,
    status: connection.status,
    inFlight: connection.inFlight,
  };
}

export function poolUnavailable(what: string, connections: readonly TeamTalkConnection[]): ConnectionError {
  const states = connections.map((c) => `${c.name} ${c.status}`).join(', ');
  return new ConnectionError('POOL_UNAVAILABLE', `no ready ${what} connection (${states || 'no servers configured'})`);
}

export function checkAddresses(addresses: readonly ServerAddress[], what: string): void {
  if (addresses.length === 0) throw new RangeError(`${what}: at least one server address is needed`);
  for (const a of addresses) {
    if (!a.host || !Number.isInteger(a.port) || a.port <= 0 || a.port > 65535) {
      throw new RangeError(`${what}: bad server address ${JSON.stringify(a)}`);
    }
  }
}
