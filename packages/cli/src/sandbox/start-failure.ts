/**
 * Turns a failed sandbox start into one clear sentence: a busy port names the flag that changes it.
 */
import type { SandboxCommandOptions } from './options.ts';

/** Which flag sets each server's port, to name it when the port is busy. */
const portFlags = [
  ['dbPort', '--db-port', 'db_proxy_server'],
  ['routePort', '--route-port', 'route_server'],
  ['msgPort', '--msg-port', 'msg_server'],
] as const;

/** Explains a failed listen: a busy port names the flag that changes it. */
export function startFailureText(err: unknown, options: SandboxCommandOptions): string {
  const e = findErrno(err);
  if (e && (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL')) {
    const port = typeof e.port === 'number' ? e.port : undefined;
    const owners = portFlags.filter(([key]) => port !== undefined && options[key] === port);
    const where = `${options.host}:${port ?? '?'}`;
    const which = owners.length > 0 ? owners.map(([, , server]) => server).join(' and ') + ' ' : '';
    const flags =
      owners.length > 0 ? owners.map(([, flag]) => flag).join(' or ') : '--db-port, --route-port or --msg-port';
    if (e.code === 'EADDRINUSE') return `${which}port ${where} is already in use: choose another with ${flags}`;
    if (e.code === 'EACCES') return `${which}port ${where} needs privileges: choose another with ${flags}`;
    return `cannot listen on ${where}: no such local address: check --host`;
  }
  return `cannot start the sandbox: ${err instanceof Error ? err.message : String(err)}`;
}

interface ErrnoWithPort extends NodeJS.ErrnoException {
  port?: unknown;
}

/** The system error behind `err`, following `cause` links (a wrapper may hide it). */
function findErrno(err: unknown): ErrnoWithPort | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; depth += 1) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('E') && 'syscall' in e) return e as ErrnoWithPort;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
