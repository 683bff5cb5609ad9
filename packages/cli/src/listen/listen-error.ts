/**
 * Failures of a listening session, each with a stable `code`. Framing faults are the wire layer's
 * ProtocolError and pass through unchanged.
 */

export type ListenErrorCode =
  | 'LISTEN_CONNECT_REFUSED'
  | 'LISTEN_CONNECT_TIMEOUT'
  | 'LISTEN_CONNECT_FAILED'
  | 'LISTEN_LOGIN_REJECTED'
  | 'LISTEN_LOGIN_TIMEOUT'
  | 'LISTEN_CONNECTION_LOST'
  | 'LISTEN_ABORTED';

export class ListenError extends Error {
  override readonly name = 'ListenError';
  constructor(
    readonly code: ListenErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A login the server answered with a non-zero result_code. */
export class LoginRejectedError extends ListenError {
  constructor(
    readonly resultCode: number,
    readonly resultString: string,
    message: string,
  ) {
    super('LISTEN_LOGIN_REJECTED', message);
  }
}
