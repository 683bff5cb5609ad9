-- Drops a lane head that no longer needs sending (cancelled, missing, already terminal).
-- KEYS[1] lane   P:{pN}:lane:<conv>
-- ARGV[1] id
-- Returns 1 dropped; 0 the head is another message.
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then redis.call('LPOP', KEYS[1]) return 1 end
return 0
