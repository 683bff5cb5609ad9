-- Marks the lane head as being sent (a first attempt, or a new one after a request that never left or was read
-- back as not stored), under the conversation lock: the create_time and floor it records are what a read-back
-- looks for after a crash.
-- KEYS[1] record   P:{pN}:m:<id> (fields s, ua, ct, fl, a)
-- KEYS[2] lock     P:{pN}:lock:<conv>
-- ARGV[1] lock token · ARGV[2] now (ms) · ARGV[3] create_time (s) · ARGV[4] floor (msg_id)
-- Returns {1} marked; {-2 (LockLost)} the lock is not ours; {-1 (Missing)} no record;
-- {-4 (WrongState), status} neither queued nor sending.
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return {-2} end
local s = redis.call('HGET', KEYS[1], 's')
if not s then return {-1} end
if s ~= 'queued' and s ~= 'sending' then return {-4, s} end
redis.call('HSET', KEYS[1], 's', 'sending', 'ua', ARGV[2], 'ct', ARGV[3], 'fl', ARGV[4])
redis.call('HINCRBY', KEYS[1], 'a', 1)
return {1}
