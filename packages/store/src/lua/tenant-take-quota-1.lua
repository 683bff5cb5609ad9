-- Counts n messages on an app's day unless that passes its quota (then counts nothing). The day's counter expires
-- two days (172800 s) after its first count.
-- KEYS[1]: the day's counter (TenantKeys.quota)
-- ARGV[1]: n · ARGV[2]: quota
-- Returns: 1 counted, 0 refused.
local n = redis.call('INCRBY', KEYS[1], ARGV[1])
if n == tonumber(ARGV[1]) then redis.call('EXPIRE', KEYS[1], 172800) end
if n > tonumber(ARGV[2]) then
  redis.call('DECRBY', KEYS[1], ARGV[1])
  return 0
end
return 1
