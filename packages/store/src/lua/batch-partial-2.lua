-- Records what a chunk still sending, or interrupted mid-way (pause, shutdown), has settled so far, and counts it.
-- Fenced by the attempt number: a worker that lost its chunk to another attempt writes nothing.
-- KEYS[1] batch hash; KEYS[2] the chunk's send state
-- ARGV[1] attempt; ARGV[2] partial results; ARGV[3] clean ('1': nothing left in doubt); ARGV[4] +sent;
-- ARGV[5] +failed; ARGV[6] now (ms)
-- Returns 1, or ScriptError NotOwner (-3) when another attempt owns the chunk.
--- @include "sample"
if redis.call('HGET', KEYS[2], 'at') ~= ARGV[1] then return -3 end
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
