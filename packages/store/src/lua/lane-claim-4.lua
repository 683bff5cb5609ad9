-- Takes (or keeps) a conversation's lock and returns what to send next, in one round trip; when asked, also marks the
-- lane's first message `sending` for a new attempt (includes/mark-first-send.lua), so the worker sends it at once.
-- The records it reads (and the one it marks) are not in KEYS (their ids are what it finds out); they carry the
-- lane's hash tag, so on a Redis Cluster they lie on the slot of the declared keys.
-- KEYS[1] lock    P:{pN}:lock:<conv>
-- KEYS[2] lane    P:{pN}:lane:<conv>
-- KEYS[3] lanes   P:{pN}:lanes
-- KEYS[4] conv    P:{pN}:conv:<conv> (fields lmid, lct, lh)
-- ARGV[1] lock token · ARGV[2] lock ms · ARGV[3] peek count · ARGV[4] message key prefix 'P:{pN}:m:' · ARGV[5] conv ·
-- ARGV[6] '1' to mark the first message, '0' not to · ARGV[7] now (ms) · ARGV[8] max message age (ms)
-- Returns {-2 (LockLost)} another worker holds the lock; {0} the lane is empty (the lock is released and the lane
-- leaves P:lanes, atomically, so a message pushed after this is activated by its own job); otherwise
-- {1, lmid, lct, lh, ct, id1, fields1, id2, fields2, ...} for the first `peek` ids of the lane (fields: HGETALL,
-- read before the mark), ct the create_time the first message was marked `sending` with (its floor: lmid), or 0
-- when it was not marked.
--- @include "mark-first-send"
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return {-2} end
if redis.call('LLEN', KEYS[2]) == 0 then
  if cur then redis.call('DEL', KEYS[1]) end
  redis.call('ZREM', KEYS[3], ARGV[5])
  return {0}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local c = redis.call('HMGET', KEYS[4], 'lmid', 'lct', 'lh')
local lmid = c[1] or '0'
local out = {1, lmid, c[2] or '0', c[3] or '', 0}
local ids = redis.call('LRANGE', KEYS[2], 0, tonumber(ARGV[3]) - 1)
for _, id in ipairs(ids) do
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGETALL', ARGV[4] .. id)
end
if ARGV[6] == '1' and ids[1] then
  out[5] = mark_first_send(ARGV[4] .. ids[1], ARGV[7], tonumber(ARGV[8]), lmid, tonumber(c[2] or '0'), c[3]) or 0
end
return out
