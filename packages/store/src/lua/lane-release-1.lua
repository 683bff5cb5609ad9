-- Releases a conversation lock whatever its lane holds (a worker stopping).
-- KEYS[1] lock   P:{pN}:lock:<conv>
-- ARGV[1] lock token
-- Returns 1 released; 0 the lock was not ours (or expired).
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
