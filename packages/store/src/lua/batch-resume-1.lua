-- Resumes a paused batch: running again if it had started, else queued.
-- KEYS[1] batch hash
-- ARGV[1] now (ms)
-- Returns {1} resumed, {2} not paused (nothing to do), {-4, status} not resumable (ScriptError WrongState),
-- {-1} no such batch (ScriptError Missing).
local v = redis.call('HMGET', KEYS[1], 'status', 'started')
local st = v[1]
if not st then return {-1} end
if st == 'queued' or st == 'running' then return {2} end
if st ~= 'paused' then return {-4, st} end
redis.call('HSET', KEYS[1], 'status', v[2] and 'running' or 'queued', 'updated', ARGV[1])
return {1}
