-- Ends an upload: the batch becomes queued (or completed when nothing is left to send) and its keys lose the upload
-- expiry. Chunk keys are built from the batch key: they share its hash tag, hence its Cluster slot.
-- KEYS[1] batch hash; KEYS[2] rejected list
-- ARGV[1] now (ms); ARGV[2] valid recipients; ARGV[3] chunks; ARGV[4] rejected; ARGV[5] duplicates;
-- ARGV[6] finished batch expiry (ms)
-- Returns 1 the batch is already complete, 0 queued; ScriptError Missing (-1) no such batch (its upload expired),
-- WrongState (-4) the batch is not uploading.
--- @include "settle"
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return -1 end
if st ~= 'uploading' then return -4 end
local valid = tonumber(ARGV[2])
local rejected = tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 'status', 'queued', 'total', valid + rejected, 'valid', valid, 'chunks', ARGV[3],
  'rejected', rejected, 'duplicates', ARGV[5], 'updated', ARGV[1],
  'sending', 0, 'sent', 0, 'failed', 0, 'cancelled', 0)
redis.call('PERSIST', KEYS[1])
redis.call('PERSIST', KEYS[2])
for n = 0, tonumber(ARGV[3]) - 1 do redis.call('PERSIST', KEYS[1] .. ':c:' .. n) end
return settle(KEYS[1], ARGV[1], ARGV[6])
