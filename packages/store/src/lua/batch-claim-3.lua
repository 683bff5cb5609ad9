-- A worker takes a chunk: writes its send state (create_time fixed for the chunk, attempt number, clean '0') before
-- anything is sent, counts a first claim's recipients as sending, and moves a queued batch to running.
-- KEYS[1] batch hash; KEYS[2] the chunk's send state; KEYS[3] the chunk's results
-- ARGV[1] now (ms); ARGV[2] create_time (s) for a first claim; ARGV[3] recipients in the chunk;
-- ARGV[4] how long an upload may stop writing before it counts as abandoned (ms)
-- Returns {'done'} (results exist, or nothing is left to do), {'missing'}, {'paused'}, {'uploading'}, or
-- {status, create_time, attempt, previous clean flag, partial results or ''} with status 'running' or 'cancelled'
-- (a chunk claimed earlier, whose unsent recipients must now be settled).
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
