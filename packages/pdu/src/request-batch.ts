/**
 * Requests and PDUs whose bodies the caller writes in place, many into one buffer, and whose replies it reads
 * from the received bytes: no body object, encoder, promise or closure per request. For the one hot path that
 * sends many alike messages (a batch: TeamTalkConnection.requestBatch, DbProxyPool.requestBatch,
 * RoutePool.forwardBatch); everything else uses request() and send(). The caller names each request or PDU
 * by a tag of its own (e.g. its index in a list).
 */
import type { KnownCommand } from './messages.ts';

/** Bodies written in place. */
export interface BodyWriter {
  /** Bytes of the body of `tag`. */
  bodyLength(tag: number): number;
  /** Writes the body of `tag` at `offset` of `out`: exactly bodyLength(tag) bytes. */
  writeBody(tag: number, out: Buffer, offset: number): void;
}

/**
 * Correlated requests (the connection appends its own attach_data after each body, as request() does) and the
 * handling of their outcomes. A request has exactly one outcome: replied() or failed().
 */
export interface RequestBatch extends BodyWriter {
  /** A command whose body has attach_data (see CorrelatedCommand). */
  readonly commandId: KnownCommand;
  /** The command its replies must carry. */
  readonly responseCommand: KnownCommand;
  /**
   * Reads the reply to `tag`, the body bytes[start..end) (received bytes, valid during this call only), and keeps
   * what it needs. False when it does not parse: the reply is dropped, as any reply that does not parse (the
   * request later times out). Nothing else may happen here: replied(tag) follows at once when it answers true.
   */
  read(tag: number, bytes: Buffer, start: number, end: number): boolean;
  /** The request `tag` was answered: what read() kept is its reply. */
  replied(tag: number): void;
  /**
   * The request `tag` failed after it was written: a ConnectionError REQUEST_TIMEOUT (no reply in time),
   * REQUEST_REPLY_MISMATCH, or CONN_CLOSED (the connection was lost or closed with it in flight).
   */
  failed(tag: number, err: Error): void;
}
