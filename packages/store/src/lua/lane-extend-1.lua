-- Extends a conversation lock while it is ours.
-- KEYS[1] lock   P:{pN}:lock:<conv>
-- ARGV[1] lock token · ARGV[2] lock ms
-- Returns 1 extended; 0 the lock was not ours (or expired).
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
