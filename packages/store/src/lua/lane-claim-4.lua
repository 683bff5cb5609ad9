-- Takes (or keeps) a conversation's lock and returns what to send next, in one round trip.
-- The records it reads are not in KEYS (their ids are what it finds out); they carry the lane's hash tag, so on a
-- Redis Cluster they lie on the slot of the declared keys.
-- KEYS[1] lock    P:{pN}:lock:<conv>
-- KEYS[2] lane    P:{pN}:lane:<conv>
-- KEYS[3] lanes   P:{pN}:lanes
-- KEYS[4] conv    P:{pN}:conv:<conv> (fields lmid, lct, lh)
-- ARGV[1] lock token · ARGV[2] lock ms · ARGV[3] peek count · ARGV[4] message key prefix 'P:{pN}:m:' · ARGV[5] conv
-- Returns {-2 (LockLost)} another worker holds the lock; {0} the lane is empty (the lock is released and the lane
-- leaves P:lanes, atomically, so a message pushed after this is activated by its own job); otherwise
-- {1, lmid, lct, lh, id1, fields1, id2, fields2, ...} for the first `peek` ids of the lane (fields: HGETALL).
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return {-2} end
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
