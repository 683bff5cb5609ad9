/** Errors the store throws: a caller tells them apart by class, and by `code` in an HTTP answer. */

/** Redis could not be reached or answered with an error: the operation may be retried. */
export class ServiceUnavailableError extends Error {
  override readonly name = 'ServiceUnavailableError';
  readonly code = 'redis_unavailable';
}

/**
 * What a Lua script answers instead of its result (as BullMQ's ErrorCode): each script's header names the ones it
 * can return, and its store method turns them into a typed value or a ScriptStateError. Negative, so a script
 * returning a count or a length tells them apart from a result.
 */
export enum ScriptError {
  /** The record, batch, key or chunk the script was given does not exist (or expired). */
  Missing = -1,
  /** The conversation lock is held by another worker (or expired): this worker must stop sending the lane. */
  LockLost = -2,
  /** Another attempt owns the chunk (a worker that lost its job to another one is fenced off). */
  NotOwner = -3,
  /** The record or batch is in a state the operation does not apply to; the state is returned with the code. */
  WrongState = -4,
  /** An Idempotency-Key already names another request. */
  KeyReused = -5,
}

/** A script refused an operation a caller cannot go on from (see ScriptError). */
export class ScriptStateError extends Error {
  override readonly name = 'ScriptStateError';
  constructor(
    readonly code: ScriptError,
    readonly script: string,
    /** The state found, for WrongState. */
    readonly state?: string,
  ) {
    super(`${script}: ${ScriptError[code]}${state ? ` (${state})` : ''}`);
  }
}
