/**
 * The done channel (P:done): workers and the cancel script publish there the id of a finished message whose record
 * asks for it (notify), so a waiting api request wakes at once. A subscribed connection serves nothing else.
 */
import type { Redis } from 'ioredis';
import type { Keys } from '@ttpush/contract';
import { unavailable } from '../redis-errors.ts';

export class DoneChannel {
  private subscribed: Promise<void> | undefined;

  constructor(
    private readonly subscriber: Redis,
    private readonly keys: Keys,
    /** Called with each id published once subscribed. */
    onDone: (id: string) => void,
  ) {
    subscriber.on('message', (channel: string, id: string) => {
      if (channel === keys.doneChannel) onDone(id);
    });
  }

  /** Subscribes once; a failed subscription is tried again by the next call. Throws ServiceUnavailableError. */
  subscribe(): Promise<void> {
    this.subscribed ??= this.subscriber.subscribe(this.keys.doneChannel).then(
      () => undefined,
      (err: unknown) => {
        this.subscribed = undefined;
        throw unavailable(err);
      },
    );
    return this.subscribed;
  }
}
