-- Lets go of a batch Idempotency-Key that still names this batch (an upload that failed).
-- KEYS[1] idempotency key
-- ARGV[1] batch id
-- Returns 1 when the key was deleted, 0 when it names another batch (or none).
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
