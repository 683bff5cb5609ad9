-- Deletes an upload that failed: its hash, its chunks and its rejected inputs (its Idempotency-Key is let go by
-- batch-idem-release).
-- KEYS[1] batch hash; KEYS[2] rejected list
-- ARGV[1] chunks written
-- Returns 1.
for n = 0, tonumber(ARGV[1]) - 1 do redis.call('DEL', KEYS[1] .. ':c:' .. n) end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
