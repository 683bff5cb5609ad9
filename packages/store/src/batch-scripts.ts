/**
 * The Lua scripts that keep a batch's status, its chunks' send states and its counters consistent
 * between api and worker processes. Counters: `sending` counts recipients of chunks a worker claimed and
 * has not settled; `queued` is derived (valid - sending - sent - failed - cancelled). A chunk's results
 * are written once (the first writer wins), and each send state carries an attempt number that fences
 * a worker that lost its job to another one.
 *
 * Scripts build chunk keys from the batch key (KEYS[1]) they are given (a batch has up to 10,000 chunks: too
 * many to pass); every key of a batch shares the batch's hash tag {<id>}, so they stay on the declared key's
 * Redis Cluster slot. No script touches a key of another slot: the Idempotency-Key is claimed on its own.
 */
import type { Redis } from 'ioredis';

/** Marks a batch completed once every recipient is done, and gives all its keys their final expiry. */
const SETTLE = `
local function settle(b, now, ttl)
  local v = redis.call('HMGET', b, 'total', 'sent', 'failed', 'cancelled', 'rejected', 'status', 'chunks', 'finished')
  if v[8] or v[6] == 'uploading' then return 0 end
  local done = tonumber(v[2] or '0') + tonumber(v[3] or '0') + tonumber(v[4] or '0') + tonumber(v[5] or '0')
  if done < tonumber(v[1] or '0') then return 0 end
  if v[6] ~= 'cancelled' then redis.call('HSET', b, 'status', 'completed') end
  redis.call('HSET', b, 'finished', now, 'updated', now)
  redis.call('PEXPIRE', b, ttl)
  redis.call('PEXPIRE', b .. ':rej', ttl)
  for n = 0, tonumber(v[7] or '0') - 1 do
    redis.call('PEXPIRE', b .. ':c:' .. n, ttl)
    redis.call('PEXPIRE', b .. ':r:' .. n, ttl)
  end
  return 1
end
`;

/** Keeps two samples (time, done count) at least 2 s apart: the view's rate is taken over them. */
const SAMPLE = `
local function sample(b, now)
  local v = redis.call('HMGET', b, 'rt1', 'rn1', 'sent', 'failed')
  local t1 = tonumber(v[1] or '0')
  if tonumber(now) - t1 >= 2000 then
    local done = tonumber(v[3] or '0') + tonumber(v[4] or '0')
    redis.call('HSET', b, 'rt0', v[1] or now, 'rn0', v[2] or done, 'rt1', now, 'rn1', done)
  end
end
`;

/**
 * Starts an upload. KEYS: batch. ARGV: uploadTtlMs, then field/value pairs. Its Idempotency-Key is claimed
 * apart (IDEM_CLAIM): the key lies on another Cluster slot than the batch.
 */
const BEGIN = `
local fields = {}
for i = 2, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`;

/**
 * Points a batch Idempotency-Key at a new batch if it still names `expected` ('' for none): a compare-and-set,
 * so of two uploads racing for one key exactly one wins. KEYS: idempotency. ARGV: id, expected.
 * Returns {1} set, or {0, current} when the key changed meanwhile.
 */
const IDEM_CLAIM = `
local cur = redis.call('GET', KEYS[1]) or ''
if cur ~= ARGV[2] then return {0, cur} end
redis.call('SET', KEYS[1], ARGV[1], 'EX', 86400)
return {1}
`;

/** Lets go of a batch Idempotency-Key that still names this batch. KEYS: idempotency. ARGV: id. */
const IDEM_RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * Ends an upload: the batch becomes queued (or completed when nothing is left to send) and its keys lose
 * the upload expiry. KEYS: batch, rejected. ARGV: now, valid, chunks, rejected, duplicates, finishedTtlMs.
 * Returns 1 when the batch is already complete, 0 when queued, -1 when it was not uploading.
 */
const FINISH_UPLOAD =
  SETTLE +
  `
if redis.call('HGET', KEYS[1], 'status') ~= 'uploading' then return -1 end
local valid = tonumber(ARGV[2])
local rejected = tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 'status', 'queued', 'total', valid + rejected, 'valid', valid, 'chunks', ARGV[3],
  'rejected', rejected, 'duplicates', ARGV[5], 'updated', ARGV[1],
  'sending', 0, 'sent', 0, 'failed', 0, 'cancelled', 0)
redis.call('PERSIST', KEYS[1])
redis.call('PERSIST', KEYS[2])
for n = 0, tonumber(ARGV[3]) - 1 do redis.call('PERSIST', KEYS[1] .. ':c:' .. n) end
return settle(KEYS[1], ARGV[1], ARGV[6])
`;

/** Deletes an upload that failed (its Idempotency-Key is let go by IDEM_RELEASE). KEYS: batch, rejected. ARGV: chunks written. */
const ABORT = `
for n = 0, tonumber(ARGV[1]) - 1 do redis.call('DEL', KEYS[1] .. ':c:' .. n) end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
`;

/**
 * A worker takes a chunk. KEYS: batch, send state, results. ARGV: now, create_time, chunk size, staleMs.
 * Returns {'done'} (results exist, or nothing to do), {'missing'}, {'paused'}, {'uploading'}, or
 * {status, create_time, attempt, previous clean flag, partial results or ''} with status 'running' or
 * 'cancelled' (a chunk claimed earlier, whose unsent recipients must now be settled).
 */
const CLAIM = `
if redis.call('EXISTS', KEYS[3]) == 1 then return {'done'} end
local v = redis.call('HMGET', KEYS[1], 'status', 'updated', 'started')
local st = v[1]
if not st then return {'missing'} end
if st == 'uploading' then
  if tonumber(v[2]) < tonumber(ARGV[1]) - tonumber(ARGV[4]) then return {'missing'} end
  return {'uploading'}
end
if st == 'completed' or st == 'paused' then return {st == 'paused' and 'paused' or 'done'} end
local has = redis.call('EXISTS', KEYS[2]) == 1
if st == 'cancelled' and not has then return {'done'} end
local prevClean = '1'
if has then
  prevClean = redis.call('HGET', KEYS[2], 'clean') or '0'
  redis.call('HINCRBY', KEYS[2], 'at', 1)
  redis.call('HSET', KEYS[2], 'clean', '0')
else
  redis.call('HSET', KEYS[2], 'ct', ARGV[2], 'at', 1, 'clean', '0')
  redis.call('HINCRBY', KEYS[1], 'sending', ARGV[3])
end
if st == 'queued' then
  redis.call('HSET', KEYS[1], 'status', 'running')
  st = 'running'
end
if not v[3] then redis.call('HSET', KEYS[1], 'started', ARGV[1], 'rt1', ARGV[1], 'rn1', 0) end
redis.call('HSET', KEYS[1], 'updated', ARGV[1])
local s = redis.call('HMGET', KEYS[2], 'ct', 'at', 'pr')
return {st, s[1], s[2], prevClean, s[3] or ''}
`;

/**
 * Records what a chunk interrupted mid-way (pause, shutdown) has settled so far, and counts it.
 * KEYS: batch, send state. ARGV: attempt, partial results, clean, +sent, +failed, now.
 * Returns 1, or 0 when another attempt owns the chunk.
 */
const PARTIAL =
  SAMPLE +
  `
if redis.call('HGET', KEYS[2], 'at') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], 'pr', ARGV[2], 'clean', ARGV[3])
local n = tonumber(ARGV[4]) + tonumber(ARGV[5])
if n > 0 then
  redis.call('HINCRBY', KEYS[1], 'sent', ARGV[4])
  redis.call('HINCRBY', KEYS[1], 'failed', ARGV[5])
  redis.call('HINCRBY', KEYS[1], 'sending', -n)
end
redis.call('HSET', KEYS[1], 'updated', ARGV[6])
sample(KEYS[1], ARGV[6])
return 1
`;

/**
 * Writes a chunk's results and counts them, in one step. KEYS: batch, send state, results.
 * ARGV: attempt, results, +sent, +failed, +cancelled, -sending, now, finishedTtlMs.
 * Returns 2 (the batch is now finished), 1, 0 (results existed already) or -1 (another attempt owns it).
 */
const FINISH_CHUNK =
  SETTLE +
  SAMPLE +
  `
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
if redis.call('HGET', KEYS[2], 'at') ~= ARGV[1] then return -1 end
redis.call('SET', KEYS[3], ARGV[2])
redis.call('DEL', KEYS[2])
redis.call('HINCRBY', KEYS[1], 'sent', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'failed', ARGV[4])
redis.call('HINCRBY', KEYS[1], 'cancelled', ARGV[5])
redis.call('HINCRBY', KEYS[1], 'sending', -tonumber(ARGV[6]))
redis.call('HSET', KEYS[1], 'updated', ARGV[7])
sample(KEYS[1], ARGV[7])
return 1 + settle(KEYS[1], ARGV[7], ARGV[8])
`;

/**
 * Cancels a batch: chunks no worker has claimed are settled as cancelled at once; claimed ones are
 * settled by their worker. KEYS: batch. ARGV: now, finishedTtlMs, chunk size.
 * Returns {1} cancelled, {2} already cancelled, {0, status} not cancellable, {-1} missing.
 */
const CANCEL =
  SETTLE +
  `
local v = redis.call('HMGET', KEYS[1], 'status', 'chunks', 'valid')
if not v[1] then return {-1} end
if v[1] == 'cancelled' then return {2} end
if v[1] == 'completed' or v[1] == 'uploading' then return {0, v[1]} end
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'updated', ARGV[1])
local size = tonumber(ARGV[3])
local valid = tonumber(v[3])
local cancelled = 0
for n = 0, tonumber(v[2]) - 1 do
  local r = KEYS[1] .. ':r:' .. n
  if redis.call('EXISTS', r) == 0 and redis.call('EXISTS', KEYS[1] .. ':s:' .. n) == 0 then
    redis.call('SET', r, 'C')
    cancelled = cancelled + math.min(size, valid - n * size)
  end
end
if cancelled > 0 then redis.call('HINCRBY', KEYS[1], 'cancelled', cancelled) end
settle(KEYS[1], ARGV[1], ARGV[2])
return {1}
`;

/** KEYS: batch. ARGV: now. Returns {1} paused, {2} already paused, {0, status} not pausable, {-1} missing. */
const PAUSE = `
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return {-1} end
if st == 'paused' then return {2} end
if st ~= 'queued' and st ~= 'running' then return {0, st} end
redis.call('HSET', KEYS[1], 'status', 'paused', 'updated', ARGV[1])
return {1}
`;

/** KEYS: batch. ARGV: now. Returns {1} resumed, {2} not paused (nothing to do), {0, status} not resumable, {-1} missing. */
const RESUME = `
local v = redis.call('HMGET', KEYS[1], 'status', 'started')
local st = v[1]
if not st then return {-1} end
if st == 'queued' or st == 'running' then return {2} end
if st ~= 'paused' then return {0, st} end
redis.call('HSET', KEYS[1], 'status', v[2] and 'running' or 'queued', 'updated', ARGV[1])
return {1}
`;

type Arg = string | number;

export interface BatchCommands {
  ttBatchBegin(...args: Arg[]): Promise<number>;
  ttBatchIdemClaim(...args: Arg[]): Promise<[number, string?]>;
  ttBatchIdemRelease(...args: Arg[]): Promise<number>;
  ttBatchFinishUpload(...args: Arg[]): Promise<number>;
  ttBatchAbort(...args: Arg[]): Promise<number>;
  ttBatchClaim(...args: Arg[]): Promise<[string, string?, string?, string?, string?]>;
  ttBatchPartial(...args: Arg[]): Promise<number>;
  ttBatchFinishChunk(...args: Arg[]): Promise<number>;
  ttBatchCancel(...args: Arg[]): Promise<[number, string?]>;
  ttBatchPause(...args: Arg[]): Promise<[number, string?]>;
  ttBatchResume(...args: Arg[]): Promise<[number, string?]>;
}

export type BatchScriptedRedis = Redis & BatchCommands;

export function defineBatchScripts(redis: Redis): BatchScriptedRedis {
  const defs: [keyof BatchCommands, number, string][] = [
    ['ttBatchBegin', 1, BEGIN],
    ['ttBatchIdemClaim', 1, IDEM_CLAIM],
    ['ttBatchIdemRelease', 1, IDEM_RELEASE],
    ['ttBatchFinishUpload', 2, FINISH_UPLOAD],
    ['ttBatchAbort', 2, ABORT],
    ['ttBatchClaim', 3, CLAIM],
    ['ttBatchPartial', 2, PARTIAL],
    ['ttBatchFinishChunk', 3, FINISH_CHUNK],
    ['ttBatchCancel', 1, CANCEL],
    ['ttBatchPause', 1, PAUSE],
    ['ttBatchResume', 1, RESUME],
  ];
  for (const [name, numberOfKeys, lua] of defs) {
    if (!(name in redis)) redis.defineCommand(name, { numberOfKeys, lua });
  }
  return redis as BatchScriptedRedis;
}
