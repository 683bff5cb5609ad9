/**
 * The Lua scripts that keep a message's state, its conversation lane and the counters consistent.
 * Each runs atomically in Redis: that is what makes acceptance order, cancellation and completion
 * race-free between api and worker processes. All keys of one call belong to one partition (keys.ts), hence
 * to one Redis Cluster slot; the done channel is a channel, not a key.
 */
import type { Redis } from 'ioredis';

/**
 * KEYS: record, lane, lanes, idem, depth, sched, app index, key index, recent index.
 * ARGV: id, conv, now, useIdem, scheduledAt|'', fingerprint, index cutoff (ms: entries accepted before it are trimmed),
 * index ttl (ms), useKeyIndex, recent cap, then field/value pairs.
 * The Idempotency-Key holds '<first id> <fingerprint>' (a bare id: written before fingerprints).
 * Returns {1, id, lane length} accepted, {0, first id, 0} a repeat, {2, first id, 0} the key reused for another request.
 * The indexes (message-list.ts) cost a ZADD each; the trims find nothing to remove on almost every call.
 */
const ACCEPT = `
if ARGV[4] == '1' then
  local existing = redis.call('GET', KEYS[4])
  if existing then
    local sp = string.find(existing, ' ', 1, true)
    if not sp then return {0, existing, 0} end
    local first = string.sub(existing, 1, sp - 1)
    if string.sub(existing, sp + 1) ~= ARGV[6] then return {2, first, 0} end
    return {0, first, 0}
  end
  redis.call('SET', KEYS[4], ARGV[1] .. ' ' .. ARGV[6], 'EX', 86400)
end
local fields = {}
for i = 11, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('INCR', KEYS[5])
redis.call('ZADD', KEYS[7], ARGV[3], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', '(' .. ARGV[7])
redis.call('PEXPIRE', KEYS[7], ARGV[8])
if ARGV[9] == '1' then
  redis.call('ZADD', KEYS[8], ARGV[3], ARGV[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', '(' .. ARGV[7])
  redis.call('PEXPIRE', KEYS[8], ARGV[8])
end
redis.call('ZADD', KEYS[9], ARGV[3], ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[9], 0, -1 - tonumber(ARGV[10]))
if ARGV[5] ~= '' then
  redis.call('ZADD', KEYS[6], ARGV[5], ARGV[1])
  return {1, ARGV[1], 0}
end
local n = redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
return {1, ARGV[1], n}
`;

/** Moves a due scheduled message into its lane. KEYS: record, lane, lanes, sched. ARGV: id, conv, now. Returns lane length or -1. */
const PROMOTE = `
redis.call('ZREM', KEYS[4], ARGV[1])
if redis.call('HGET', KEYS[1], 's') ~= 'scheduled' then return -1 end
redis.call('HSET', KEYS[1], 's', 'queued', 'ua', ARGV[3])
local n = redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
return n
`;

/**
 * KEYS: record, lane, sched, depth. ARGV: id, now, done channel, record ttl ms.
 * Returns {1} cancelled, {0, status} not cancellable, {-1} missing.
 * A terminal record loses its text (x): nothing reads it back any more, and it is the bulk of the record (a message
 * sent as parts keeps it for its view's parts).
 */
const CANCEL = `
local s = redis.call('HGET', KEYS[1], 's')
if not s then return {-1} end
if s ~= 'queued' and s ~= 'scheduled' then return {0, s} end
redis.call('HSET', KEYS[1], 's', 'cancelled', 'ua', ARGV[2])
if redis.call('HGET', KEYS[1], 'pp') ~= '1' then redis.call('HDEL', KEYS[1], 'x') end
redis.call('LREM', KEYS[2], 1, ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('DECR', KEYS[4])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if redis.call('HGET', KEYS[1], 'n') == '1' then redis.call('PUBLISH', ARGV[3], ARGV[1]) end
return {1}
`;

/**
 * Marks the lane head as being sent (a first attempt, or a new one after a request that never left or was
 * read back as not stored), under the conversation lock.
 * KEYS: record, lock. ARGV: token, now, create_time, floor.
 * Returns 'ok', 'lost' (lock not ours), or the current status when it is not queued.
 */
const MARK_SENDING = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 'lost' end
local s = redis.call('HGET', KEYS[1], 's')
if s ~= 'queued' and s ~= 'sending' then return s or 'missing' end
redis.call('HSET', KEYS[1], 's', 'sending', 'ua', ARGV[2], 'ct', ARGV[3], 'fl', ARGV[4])
redis.call('HINCRBY', KEYS[1], 'a', 1)
return 'ok'
`;

/**
 * Records a terminal outcome and takes the message off its lane; when that empties the lane, releases the
 * conversation lock too (atomically: a message pushed afterwards is activated by its own job).
 * KEYS: record, lane, conv, depth, lock, lanes.
 * ARGV: id, status, now, msg_id, code, message, create_time, text hash, token, conv, done channel, record ttl ms.
 * Returns the lane's remaining length (0: drained and released).
 * The record loses its text (x) once terminal: read-back needs it only while the message may still be sent. A message
 * sent as parts keeps it: its view shows the parts, split back from the text.
 */
const COMPLETE = `
local s = redis.call('HGET', KEYS[1], 's')
local terminal = s == 'sent' or s == 'failed' or s == 'cancelled'
if not terminal then
  if ARGV[2] == 'sent' then
    redis.call('HSET', KEYS[1], 's', 'sent', 'ua', ARGV[3], 'st', ARGV[3], 'mid', ARGV[4])
    local last = tonumber(redis.call('HGET', KEYS[3], 'lmid') or '0')
    if tonumber(ARGV[4]) > last then
      redis.call('HSET', KEYS[3], 'lmid', ARGV[4], 'lct', ARGV[7], 'lh', ARGV[8])
    end
    redis.call('PEXPIRE', KEYS[3], 2592000000)
  else
    redis.call('HSET', KEYS[1], 's', 'failed', 'ua', ARGV[3], 'ec', ARGV[5], 'em', ARGV[6])
  end
  if redis.call('HGET', KEYS[1], 'pp') ~= '1' then redis.call('HDEL', KEYS[1], 'x') end
  redis.call('DECR', KEYS[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[12])
  if redis.call('HGET', KEYS[1], 'n') == '1' then redis.call('PUBLISH', ARGV[11], ARGV[1]) end
end
if redis.call('LINDEX', KEYS[2], 0) == ARGV[1] then redis.call('LPOP', KEYS[2]) end
local left = redis.call('LLEN', KEYS[2])
if left == 0 and redis.call('GET', KEYS[5]) == ARGV[9] then
  redis.call('DEL', KEYS[5])
  redis.call('ZREM', KEYS[6], ARGV[10])
end
return left
`;

/**
 * Takes (or keeps) a conversation's lock and returns what to send next, in one round trip.
 * KEYS: lock, lane, lanes, conv. ARGV: token, lock ms, peek count, message key prefix ('P:{pN}:m:'), conv name.
 * The records it reads are not in KEYS (their ids are what it finds out); they carry the lane's hash tag, so on a
 * Redis Cluster they lie on the slot of the declared keys.
 * Returns false when another worker holds the lock; {0} when the lane is empty (the lock is released and the
 * lane leaves P:lanes, atomically, so a message pushed after this is activated by its own job); otherwise
 * {1, lmid, lct, lh, id1, fields1, id2, fields2, ...} for the first `peek` ids of the lane.
 */
const CLAIM = `
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return false end
if redis.call('LLEN', KEYS[2]) == 0 then
  if cur then redis.call('DEL', KEYS[1]) end
  redis.call('ZREM', KEYS[3], ARGV[5])
  return {0}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local c = redis.call('HMGET', KEYS[4], 'lmid', 'lct', 'lh')
local out = {1, c[1] or '0', c[2] or '0', c[3] or ''}
local ids = redis.call('LRANGE', KEYS[2], 0, tonumber(ARGV[3]) - 1)
for _, id in ipairs(ids) do
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGETALL', ARGV[4] .. id)
end
return out
`;

/** Drops a head that no longer needs sending (cancelled, missing). KEYS: lane. ARGV: id. */
const DROP_HEAD = `
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then redis.call('LPOP', KEYS[1]) return 1 end
return 0
`;

/** Releases the lock whatever the lane holds (shutdown). KEYS: lock. ARGV: token. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** Extends the lock while we hold it. KEYS: lock. ARGV: token, ms. */
const EXTEND = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

export interface TtpushCommands {
  ttAccept(...args: (string | number)[]): Promise<[number, string, number]>;
  ttPromote(...args: (string | number)[]): Promise<number>;
  ttCancel(...args: (string | number)[]): Promise<[number, string?]>;
  ttMarkSending(...args: (string | number)[]): Promise<string>;
  ttComplete(...args: (string | number)[]): Promise<number>;
  ttClaim(...args: (string | number)[]): Promise<null | [0] | [1, string, string, string, ...(string | string[])[]]>;
  ttDropHead(...args: (string | number)[]): Promise<number>;
  ttRelease(...args: (string | number)[]): Promise<number>;
  ttExtend(...args: (string | number)[]): Promise<number>;
}

export type ScriptedRedis = Redis & TtpushCommands;

export function defineScripts(redis: Redis): ScriptedRedis {
  const defs: [keyof TtpushCommands, number, string][] = [
    ['ttAccept', 9, ACCEPT],
    ['ttPromote', 4, PROMOTE],
    ['ttCancel', 4, CANCEL],
    ['ttMarkSending', 2, MARK_SENDING],
    ['ttComplete', 6, COMPLETE],
    ['ttClaim', 4, CLAIM],
    ['ttDropHead', 1, DROP_HEAD],
    ['ttRelease', 1, RELEASE],
    ['ttExtend', 1, EXTEND],
  ];
  for (const [name, numberOfKeys, lua] of defs) {
    if (!(name in redis)) redis.defineCommand(name, { numberOfKeys, lua });
  }
  return redis as ScriptedRedis;
}
