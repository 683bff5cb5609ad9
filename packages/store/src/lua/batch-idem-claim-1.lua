-- Points a batch Idempotency-Key at a new batch if it still names `expected` ('' for none): a compare-and-set, so
-- of two uploads racing for one key exactly one wins. The key is kept 24 h.
-- KEYS[1] idempotency key
-- ARGV[1] batch id; ARGV[2] expected current value ('' for none)
-- Returns {1} set, or {0, current} when the key changed meanwhile.
local cur = redis.call('GET', KEYS[1]) or ''
if cur ~= ARGV[2] then return {0, cur} end
redis.call('SET', KEYS[1], ARGV[1], 'EX', 86400)
return {1}
