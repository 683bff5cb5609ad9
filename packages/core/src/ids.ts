import { randomBytes } from 'node:crypto';

/** Message ids: time-ordered prefix (base36 ms) and 64 random bits, e.g. msg_mbx3k2a1c9f0e4d2b7a6q. */
export function newMessageId(now = Date.now()): string {
  return `msg_${now.toString(36)}${randomBytes(8).readBigUInt64BE().toString(36).padStart(13, '0')}`;
}
