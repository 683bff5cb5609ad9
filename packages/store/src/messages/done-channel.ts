/**
 * The done channel (P:done): the lane-complete and message-cancel scripts publish there a finished message whose
 * record asks for it (notify), so a waiting api request wakes at once. A subscribed connection serves nothing else.
 *
 * A notice is `<id> <status> <msg_id> <failure code>`, fields split at the first three spaces: status `sent`,
 * `failed` or `cancelled`; msg_id TeamTalk's (0: none); the failure code (empty: none) is the rest of the line.
 * A waiter learns the outcome from it without reading the record. A bare `<id>` (published by a worker of an
 * earlier version during a rolling upgrade) says only that the message is terminal: its record tells the rest.
 * The other way round, an api of an earlier version takes a whole notice for an id it does not wait for: its waits
 * run to their end and then read the record (answers stay right, only late). Upgrade the apis before the workers.
 */
import type { Redis } from 'ioredis';
import { TERMINAL_STATUSES, type Keys, type MessageStatus } from '@ttpush/contract';
import { unavailable } from '../redis-errors.ts';

/** What a notice on the done channel says of a finished message. */
export interface DoneNotice {
  id: string;
  /** The outcome it carries; null for a bare id (or a notice not understood): read the record. */
  outcome: DoneOutcome | null;
}

export interface DoneOutcome {
  status: Extract<MessageStatus, 'sent' | 'failed' | 'cancelled'>;
  /** TeamTalk's msg_id; null when none (not sent, or 0). */
  msgId: number | null;
  /** The failure code; null when none. */
  errorCode: string | null;
}

/** Reads one notice (see the header for its format). */
export function parseDoneNotice(text: string): DoneNotice {
  const a = text.indexOf(' ');
  if (a < 0) return { id: text, outcome: null };
  const id = text.slice(0, a);
  const b = text.indexOf(' ', a + 1);
  const c = b < 0 ? -1 : text.indexOf(' ', b + 1);
  const status = c < 0 ? '' : text.slice(a + 1, b);
  const msgId = c < 0 ? NaN : Number(text.slice(b + 1, c));
  if (!TERMINAL_STATUSES.has(status as MessageStatus) || !Number.isSafeInteger(msgId) || msgId < 0)
    return { id, outcome: null };
  const code = text.slice(c + 1);
  return {
    id,
    outcome: { status: status as DoneOutcome['status'], msgId: msgId > 0 ? msgId : null, errorCode: code || null },
  };
}

export class DoneChannel {
  private subscribed: Promise<void> | undefined;

  constructor(
    private readonly subscriber: Redis,
    private readonly keys: Keys,
    /** Called with each notice published once subscribed. */
    onDone: (notice: DoneNotice) => void,
  ) {
    subscriber.on('message', (channel: string, text: string) => {
      if (channel === keys.doneChannel) onDone(parseDoneNotice(text));
    });
  }

  /**
   * Subscribes once; a failed subscription is tried again by the next call. Once it resolves, every notice published
   * afterwards is heard (until the connection drops: ioredis subscribes again on reconnect, notices meanwhile are
   * lost). Throws ServiceUnavailableError.
   */
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
