/**
 * How a failed db_proxy request is read: whether the message may have been stored.
 * - no_reply: the request was written and the server never answered (it drops some requests: notes §6).
 * - uncertain: the connection died with the request in flight: it may or may not be stored.
 * - not_sent: the request never left (no ready connection, draining, pool down).
 */
import { ConnectionError } from '@ttpush/pdu';

export type RequestFailure = 'no_reply' | 'uncertain' | 'not_sent';

export function classify(err: unknown): RequestFailure {
  if (err instanceof ConnectionError) {
    switch (err.code) {
      case 'REQUEST_TIMEOUT':
        return 'no_reply';
      case 'CONN_NOT_READY':
      case 'CONN_DRAINING':
      case 'POOL_UNAVAILABLE':
      case 'CONN_REFUSED':
      case 'CONN_TIMEOUT':
      case 'CONN_BUSY':
      case 'POOL_BUSY':
        return 'not_sent';
      default:
        return 'uncertain';
    }
  }
  return 'uncertain';
}
