-- Pauses a queued or running batch: its chunks stop between windows and wait in the delayed set.
-- KEYS[1] batch hash
-- ARGV[1] now (ms)
-- Returns {1} paused, {2} already paused, {-4, status} not pausable (ScriptError WrongState),
-- {-1} no such batch (ScriptError Missing).
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return {-1} end
if st == 'paused' then return {2} end
if st ~= 'queued' and st ~= 'running' then return {-4, st} end
redis.call('HSET', KEYS[1], 'status', 'paused', 'updated', ARGV[1])
return {1}
