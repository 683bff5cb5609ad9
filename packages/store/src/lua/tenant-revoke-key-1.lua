-- Makes a tenant key stop working at `at`, unless it is revoked earlier already (a later revocation with "now"
-- overrides a rotation's grace; an earlier one is kept).
-- KEYS[1]: the key's hash (TenantKeys.key; field revoked_at, ms)
-- ARGV[1]: at (ms)
-- Returns: the revoked_at now in force (ms), or -1 (ScriptError.Missing) when there is no such key.
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local cur = redis.call('HGET', KEYS[1], 'revoked_at')
if cur and tonumber(cur) <= tonumber(ARGV[1]) then return tonumber(cur) end
redis.call('HSET', KEYS[1], 'revoked_at', ARGV[1])
return tonumber(ARGV[1])
