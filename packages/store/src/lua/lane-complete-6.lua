-- Records a terminal outcome and takes the message off its lane; when that empties the lane, releases the
-- conversation lock too (atomically: a message pushed afterwards is activated by its own job). A record already
-- terminal (cancelled meanwhile) keeps its outcome.
-- The record keeps once terminal what its view and owner checks read (finish-record.lua): its text (x), for one,
-- is read back only while the message may still be sent.
-- KEYS[1] record   P:{pN}:m:<id> (fields s, ua, st, mid, ec, em, n; finish-record's)
-- KEYS[2] lane     P:{pN}:lane:<conv>
-- KEYS[3] conv     P:{pN}:conv:<conv> (fields lmid, lct, lh: kept 30 days)
-- KEYS[4] depth    P:{pN}:depth
-- KEYS[5] lock     P:{pN}:lock:<conv>
-- KEYS[6] lanes    P:{pN}:lanes
-- ARGV[1] id · ARGV[2] 'sent' or 'failed' · ARGV[3] now (ms) · ARGV[4] msg_id · ARGV[5] failure code ·
-- ARGV[6] failure message · ARGV[7] create_time (s) · ARGV[8] text hash · ARGV[9] lock token · ARGV[10] conv ·
-- ARGV[11] done channel · ARGV[12] record ttl (ms) · ARGV[13] the id the worker sends next, or '' · ARGV[14] message
-- key prefix 'P:{pN}:m:' · ARGV[15] max message age (ms)
-- With ARGV[13], while the lock is ours and that id heads the lane now, it is marked `sending` for its first attempt
-- (includes/mark-first-send.lua, with the conversation as this completion leaves it), so the worker sends it at once.
-- Its record is not in KEYS (the worker names it); it carries the lane's hash tag, on the slot of the declared keys.
-- Returns {left, ct, floor}: the lane's remaining length (0: drained, and the lock released if it was ours); the
-- create_time and floor (lmid) the next message was marked `sending` with, or 0, 0 when it was not marked.
-- Publishes on the done channel, when a waiter asked (n), '<id> <status> <msg_id> <failure code>' (store
-- done-channel.ts): 'sent' with its msg_id and an empty code, or 'failed' with msg_id 0 and its code.
--- @include "mark-first-send"
--- @include "finish-record"
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
  finishRecord(KEYS[1])
  redis.call('DECR', KEYS[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[12])
  if redis.call('HGET', KEYS[1], 'n') == '1' then
    redis.call('PUBLISH', ARGV[11], ARGV[1] .. ' ' .. ARGV[2] .. ' ' .. ARGV[4] .. ' ' .. ARGV[5])
  end
end
if redis.call('LINDEX', KEYS[2], 0) == ARGV[1] then redis.call('LPOP', KEYS[2]) end
local left = redis.call('LLEN', KEYS[2])
if left == 0 and redis.call('GET', KEYS[5]) == ARGV[9] then
  redis.call('DEL', KEYS[5])
  redis.call('ZREM', KEYS[6], ARGV[10])
end
if left > 0 and ARGV[13] ~= '' and redis.call('LINDEX', KEYS[2], 0) == ARGV[13]
  and redis.call('GET', KEYS[5]) == ARGV[9] then
  local c = redis.call('HMGET', KEYS[3], 'lmid', 'lct', 'lh')
  local lmid = c[1] or '0'
  local ct = mark_first_send(ARGV[14] .. ARGV[13], ARGV[3], tonumber(ARGV[15]), lmid, tonumber(c[2] or '0'), c[3])
  if ct then return {left, ct, tonumber(lmid)} end
end
return {left, 0, 0}
