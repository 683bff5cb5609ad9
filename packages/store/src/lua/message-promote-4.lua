-- Moves a due scheduled message into its conversation's lane (the reconciler, once its send time passed).
-- KEYS[1] record      P:{pN}:m:<id> (fields s, ua)
-- KEYS[2] lane        P:{pN}:lane:<conv>
-- KEYS[3] lanes       P:{pN}:lanes
-- KEYS[4] scheduled   P:{pN}:sched
-- ARGV[1] id · ARGV[2] conv · ARGV[3] now (ms)
-- Returns the lane's length with the message; -1 (Missing) no record; -4 (WrongState) not scheduled any more
-- (cancelled). Either way the id leaves the scheduled set.
redis.call('ZREM', KEYS[4], ARGV[1])
local s = redis.call('HGET', KEYS[1], 's')
if not s then return -1 end
if s ~= 'scheduled' then return -4 end
redis.call('HSET', KEYS[1], 's', 'queued', 'ua', ARGV[3])
local n = redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
return n
