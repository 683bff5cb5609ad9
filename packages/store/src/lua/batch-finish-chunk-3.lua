-- Writes a chunk's results and counts them, in one step; the first writer wins, and the attempt number fences a
-- worker that lost its chunk to another attempt. The batch is settled when this was its last chunk.
-- KEYS[1] batch hash; KEYS[2] the chunk's send state; KEYS[3] the chunk's results
-- ARGV[1] attempt; ARGV[2] results; ARGV[3] +sent; ARGV[4] +failed; ARGV[5] +cancelled; ARGV[6] -sending;
-- ARGV[7] now (ms); ARGV[8] finished batch expiry (ms)
-- Returns 2 (the batch is now finished), 1, 0 (results existed already), or ScriptError NotOwner (-3) when another
-- attempt owns the chunk.
--- @include "settle"
--- @include "sample"
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
if redis.call('HGET', KEYS[2], 'at') ~= ARGV[1] then return -3 end
redis.call('SET', KEYS[3], ARGV[2])
redis.call('DEL', KEYS[2])
redis.call('HINCRBY', KEYS[1], 'sent', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'failed', ARGV[4])
redis.call('HINCRBY', KEYS[1], 'cancelled', ARGV[5])
redis.call('HINCRBY', KEYS[1], 'sending', -tonumber(ARGV[6]))
redis.call('HSET', KEYS[1], 'updated', ARGV[7])
sample(KEYS[1], ARGV[7])
return 1 + settle(KEYS[1], ARGV[7], ARGV[8])
