/**
 * Fields of the message hash P:{pN}:m:<id> (api writes it on accept, workers and the api's scripts update it) and of
 * the conversation hash P:{pN}:conv:<conv> (workers). Short names keep the hashes small; the Lua scripts use the
 * same literal names.
 */
export const MESSAGE_FIELDS = {
  from: 'f',
  /** 'u' (a user) or 'g' (a group). */
  toType: 'tt',
  to: 'to',
  /** Dropped once terminal, unless sent as parts. */
  text: 'x',
  priority: 'p',
  status: 's',
  attempts: 'a',
  createdAt: 'ca',
  updatedAt: 'ua',
  sendAt: 'sa',
  deadline: 'dl',
  sentAt: 'st',
  /** TeamTalk's msg_id once stored. */
  msgId: 'mid',
  errorCode: 'ec',
  errorMessage: 'em',
  /** JSON. */
  metadata: 'md',
  app: 'app',
  /** '1': a waiter wants the completion published on P:done. */
  notify: 'n',
  conv: 'c',
  /** TeamTalk create_time used (s). */
  createTime: 'ct',
  /** The conversation's last msg_id known before the send. */
  floor: 'fl',
  /** The sending key's public id. */
  key: 'k',
  callbackUrl: 'cb',
  /** '1' when sent as `parts`. */
  withParts: 'pp',
} as const;

/** The last message ttpush stored in a conversation: its msg_id, create_time (s) and text hash. */
export const CONV_FIELDS = { lastMsgId: 'lmid', lastCreateTime: 'lct', lastHash: 'lh' } as const;
