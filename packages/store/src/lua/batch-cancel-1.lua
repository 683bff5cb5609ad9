-- Cancels a batch: chunks no worker has claimed (no results, no send state) are settled as cancelled at once
-- (results 'C'); claimed ones are settled by their worker.
-- KEYS[1] batch hash
-- ARGV[1] now (ms); ARGV[2] finished batch expiry (ms); ARGV[3] chunk size
-- Returns {1} cancelled, {2} already cancelled, {-4, status} not cancellable (ScriptError WrongState),
-- {-1} no such batch (ScriptError Missing).
--- @include "settle"
local v = redis.call('HMGET', KEYS[1], 'status', 'chunks', 'valid')
if not v[1] then return {-1} end
if v[1] == 'cancelled' then return {2} end
if v[1] == 'completed' or v[1] == 'uploading' then return {-4, v[1]} end
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
