-- Claims up to `max` due webhook deliveries over the concurrency groups whose earliest delivery is due, each group
-- up to `cap` attempts in flight: a claimed delivery gets a semaphore entry and its lease end as due time (so a dead
-- worker's claim comes due again). A group at its cap is looked at again after `recheck` ms, or as soon as one of
-- its attempts ends (DeliveryQueue.finish brings it forward).
-- KEYS[1]: ready (zset: group -> when its earliest delivery is due)
-- ARGV[1]: now (ms) · ARGV[2]: max · ARGV[3]: lease (ms) · ARGV[4]: cap · ARGV[5]: key base (WebhookKeys.base; the
--   group's due and sem zsets are <base>:due:<group> and <base>:sem:<group>, in the same hash tag) · ARGV[6]: recheck (ms)
-- Returns: the claimed delivery ids (an empty list when none is due).
local now = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local lease = tonumber(ARGV[3])
local cap = tonumber(ARGV[4])
local base = ARGV[5]
local groups = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, max)
local out = {}
for _, g in ipairs(groups) do
  if #out >= max then break end
  local skey = base .. ':sem:' .. g
  local dkey = base .. ':due:' .. g
  redis.call('ZREMRANGEBYSCORE', skey, '-inf', now)
  local room = math.min(cap - redis.call('ZCARD', skey), max - #out)
  if room > 0 then
    local ids = redis.call('ZRANGEBYSCORE', dkey, '-inf', now, 'LIMIT', 0, room)
    for _, id in ipairs(ids) do
      redis.call('ZADD', skey, now + lease, id)
      redis.call('ZADD', dkey, now + lease, id)
      out[#out + 1] = id
    end
    if #ids > 0 then redis.call('PEXPIRE', skey, lease * 2) end
  end
  local first = redis.call('ZRANGE', dkey, 0, 0, 'WITHSCORES')
  if #first == 0 then
    redis.call('ZREM', KEYS[1], g)
  else
    local at = tonumber(first[2])
    if at <= now then at = now + tonumber(ARGV[6]) end
    redis.call('ZADD', KEYS[1], at, g)
  end
end
return out
