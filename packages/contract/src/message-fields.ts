/**
 * Fields of the message hash P:{pN}:m:<id> (api writes it on accept, workers and the api's scripts update it) and of
 * the conversation hash P:{pN}:conv:<conv> (workers). Short names keep the hashes small; the Lua scripts use the
 * same literal names. A record is kept TTPUSH_RECORD_TTL after it ends, so what it holds is paid per message:
 * accepting leaves out the fields whose value is the reader's default (noted below), and ending it (Lua include
 * finish-record) drops those only a send reads (x, c, ct, fl, cb). Records written before either are read alike.
 */
export const MESSAGE_FIELDS = {
  from: 'f',
  /** 'g' (a group); 'u' or absent: a user. */
  toType: 'tt',
  to: 'to',
  /** Dropped once terminal, unless sent as parts. */
  text: 'x',
  /** Absent: normal. */
  priority: 'p',
  status: 's',
  /** Absent: 0. */
  attempts: 'a',
  createdAt: 'ca',
  /** Absent: createdAt. */
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
  /** Dropped once terminal. */
  conv: 'c',
  /** TeamTalk create_time used (s). Dropped once terminal. */
  createTime: 'ct',
  /** The conversation's last msg_id known before the send. Dropped once terminal. */
  floor: 'fl',
  /** The sending key's public id. */
  key: 'k',
  /** Dropped once terminal (the worker read it for the message's webhook before). */
  callbackUrl: 'cb',
  /** '1' when sent as `parts`. */
  withParts: 'pp',
} as const;

/** The last message ttpush stored in a conversation: its msg_id, create_time (s) and text hash. */
export const CONV_FIELDS = { lastMsgId: 'lmid', lastCreateTime: 'lct', lastHash: 'lh' } as const;
