-- settle(b, now, ttl): marks batch b completed once every recipient is done (sent, failed, cancelled or rejected)
-- and gives all its keys their final expiry ttl. Returns 1 when it finished the batch, else 0.
-- Reads b: total sent failed cancelled rejected status chunks finished. Writes b: status finished updated.
local function settle(b, now, ttl)
  local v = redis.call('HMGET', b, 'total', 'sent', 'failed', 'cancelled', 'rejected', 'status', 'chunks', 'finished')
  if v[8] or v[6] == 'uploading' then return 0 end
  local done = tonumber(v[2] or '0') + tonumber(v[3] or '0') + tonumber(v[4] or '0') + tonumber(v[5] or '0')
  if done < tonumber(v[1] or '0') then return 0 end
  if v[6] ~= 'cancelled' then redis.call('HSET', b, 'status', 'completed') end
  redis.call('HSET', b, 'finished', now, 'updated', now)
  redis.call('PEXPIRE', b, ttl)
  redis.call('PEXPIRE', b .. ':rej', ttl)
  for n = 0, tonumber(v[7] or '0') - 1 do
    redis.call('PEXPIRE', b .. ':c:' .. n, ttl)
    redis.call('PEXPIRE', b .. ':r:' .. n, ttl)
  end
  return 1
end
