-- Starts an upload: writes the new batch's hash, which expires unless the upload finishes. Its Idempotency-Key is
-- claimed apart (batch-idem-claim): that key lies on another Cluster slot than the batch.
-- KEYS[1] batch hash
-- ARGV[1] upload expiry (ms); ARGV[2..] field/value pairs (status uploading, from, priority, app, created, ...)
-- Returns 1.
local fields = {}
for i = 2, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
