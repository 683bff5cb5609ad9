/**
 * Error classes of the wire layer, one per failure domain, each with a stable `code`.
 * Code branches on `err.code`, never on `err.message`. The table lives in the README.
 */

export type ProtocolErrorCode = 'PDU_LENGTH_TOO_SMALL' | 'PDU_LENGTH_TOO_LARGE' | 'PDU_BODY_INVALID';

/** A framing or protocol fault: the connection that produced it cannot be trusted any more. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export type CipherErrorCode =
  | 'CIPHER_BAD_KEY'
  | 'CIPHER_EMPTY_PLAINTEXT'
  | 'CIPHER_BAD_BASE64'
  | 'CIPHER_BAD_BLOCK_LENGTH'
  | 'CIPHER_BAD_LENGTH_TRAILER';

/** The TeamTalk message cipher refused its input. */
export class CipherError extends Error {
  override readonly name = 'CipherError';
  constructor(
    readonly code: CipherErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export type ConnectionErrorCode =
  | 'CONN_CLOSED'
  | 'CONN_TIMEOUT'
  | 'CONN_REFUSED'
  | 'CONN_DRAINING'
  | 'CONN_NOT_READY'
  | 'REQUEST_TIMEOUT'
  | 'REQUEST_ABORTED'
  | 'POOL_UNAVAILABLE'
  /** The connection's in-flight window is full; the request was not sent (safe to retry). */
  | 'CONN_BUSY'
  /** Every ready connection of the pool has a full window; the request was not sent (safe to retry). */
  | 'POOL_BUSY'
  /** A reply carried this request's attach_data but was not the expected response command. */
  | 'REQUEST_REPLY_MISMATCH';

/** Where a request failed, when it was written to a connection. */
export interface ConnectionErrorDetail {
  /** The server's `host:port`. */
  readonly address?: string;
  /**
   * REQUEST_TIMEOUT only: replies to other requests of this connection still arrived half a timeout or more after
   * this one was written, so the server was alive while it left this one unanswered (a deliberate drop, or a
   * parked thread: notes §6, §10), rather than stalled or gone.
   */
  readonly answeredMeanwhile?: boolean;
}

/** A request could not be answered by a TeamTalk server over this connection or pool. */
export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
  readonly address: string | undefined;
  readonly answeredMeanwhile: boolean;
  constructor(
    readonly code: ConnectionErrorCode,
    message: string,
    options?: { cause?: unknown } & ConnectionErrorDetail,
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.address = options?.address;
    this.answeredMeanwhile = options?.answeredMeanwhile ?? false;
  }
}
