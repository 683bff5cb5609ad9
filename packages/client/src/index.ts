export { TtpushClient } from './ttpush-client.ts';
export type { TtpushClientOptions, SendOptions, CreateBatchOptions } from './ttpush-client.ts';
export { TtpushError, CLIENT_ERROR_CODES, type ClientErrorCode } from './ttpush-error.ts';
export { MAX_RETRY_DELAY_MS } from './retry-policy.ts';
export type * from './types.ts';
export type * from './webhook-types.ts';
