-- Cancels a queued or scheduled message: it leaves its lane (or the scheduled set), the queue depth and, when a
-- waiter asked (n), '<id> cancelled 0 ' is published on the done channel (its outcome: store done-channel.ts).
-- The record keeps once terminal what its view and owner checks read (finish-record.lua): its text (x), for one,
-- is read back only while the message may still be sent.
-- KEYS[1] record      P:{pN}:m:<id> (fields s, ua, n; finish-record's)
-- KEYS[2] lane        P:{pN}:lane:<conv>
-- KEYS[3] scheduled   P:{pN}:sched
-- KEYS[4] depth       P:{pN}:depth
-- ARGV[1] id · ARGV[2] now (ms) · ARGV[3] done channel · ARGV[4] record ttl (ms)
-- Returns {1} cancelled; {-4 (WrongState), status} not cancellable; {-1 (Missing)} no record.
--- @include "finish-record"
local s = redis.call('HGET', KEYS[1], 's')
if not s then return {-1} end
if s ~= 'queued' and s ~= 'scheduled' then return {-4, s} end
redis.call('HSET', KEYS[1], 's', 'cancelled', 'ua', ARGV[2])
finishRecord(KEYS[1])
redis.call('LREM', KEYS[2], 1, ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('DECR', KEYS[4])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if redis.call('HGET', KEYS[1], 'n') == '1' then redis.call('PUBLISH', ARGV[3], ARGV[1] .. ' cancelled 0 ') end
return {1}
