-- Refills a token bucket at `rate` up to `burst` (Redis's own clock), then takes up to `want` tokens when at least
-- `min` are there.
-- KEYS[1]: the bucket (hash: t = tokens left, fractional; ts = when they were counted, ms Redis time)
-- ARGV[1]: rate (tokens/s) · ARGV[2]: burst · ARGV[3]: want · ARGV[4]: min
-- Returns: {granted, waitMs}: granted > 0 and waitMs 0; or granted 0 and the ms until `min` tokens will be there.
-- The bucket expires once it would be full again (plus a second).
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local min = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local v = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = burst
if v[1] and v[2] then
  local elapsed = now - tonumber(v[2])
  if elapsed < 0 then elapsed = 0 end
  tokens = math.min(burst, tonumber(v[1]) + elapsed * rate / 1000)
end
local granted = 0
local waitMs = 0
if tokens >= min then
  granted = math.min(want, math.floor(tokens))
  tokens = tokens - granted
else
  waitMs = math.ceil((min - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {granted, waitMs}
