/**
 * The console's browser sessions in Redis, one key per session that expires with it:
 *
 *   P:console:session:<admin key fingerprint>:<sha256 of the session id>   created_at (ms), PX the session's TTL
 *
 * The fingerprint (a hash of TTPUSH_ADMIN_KEY) is part of the key, so a changed admin key finds none of the old
 * sessions. Only a hash of the id is stored: a copy of Redis (a dump, a replica) opens no console. Only api
 * processes use these keys.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ServiceUnavailableError } from './errors.ts';

/** The part of a session's Redis key that names the admin key it was made with. */
export function adminKeyFingerprint(adminKey: string): string {
  return createHash('sha256').update(`ttpush console session\0${adminKey}`).digest('hex').slice(0, 32);
}

function unavailable(err: unknown): never {
  throw new ServiceUnavailableError(`console sessions: Redis is unavailable: ${(err as Error).message}`, {
    cause: err,
  });
}

export class ConsoleSessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(adminKey: string, id: string): string {
    const hash = createHash('sha256').update(id).digest('hex');
    return `${this.prefix}:console:session:${adminKeyFingerprint(adminKey)}:${hash}`;
  }

  /** Stores session `id` of `adminKey` for `ttlMs`. Throws ServiceUnavailableError when Redis is down. */
  async put(adminKey: string, id: string, ttlMs: number, now = Date.now()): Promise<void> {
    try {
      await this.redis.set(this.key(adminKey, id), now, 'PX', ttlMs);
    } catch (err) {
      unavailable(err);
    }
  }

  /** Whether session `id` of `adminKey` lives. Throws ServiceUnavailableError when Redis is down. */
  async exists(adminKey: string, id: string): Promise<boolean> {
    try {
      return (await this.redis.exists(this.key(adminKey, id))) === 1;
    } catch (err) {
      unavailable(err);
    }
  }

  /** Ends session `id` of `adminKey`. Throws ServiceUnavailableError when Redis is down (it then lives on). */
  async remove(adminKey: string, id: string): Promise<void> {
    try {
      await this.redis.del(this.key(adminKey, id));
    } catch (err) {
      unavailable(err);
    }
  }
}
