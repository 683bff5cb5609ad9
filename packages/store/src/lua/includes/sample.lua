-- sample(b, now): keeps two samples (time, sent + failed) of batch b at least 2 s apart, (rt0, rn0) and (rt1, rn1):
-- the view's rate is taken over them.
local function sample(b, now)
  local v = redis.call('HMGET', b, 'rt1', 'rn1', 'sent', 'failed')
  local t1 = tonumber(v[1] or '0')
  if tonumber(now) - t1 >= 2000 then
    local done = tonumber(v[3] or '0') + tonumber(v[4] or '0')
    redis.call('HSET', b, 'rt0', v[1] or now, 'rn0', v[2] or done, 'rt1', now, 'rn1', done)
  end
end
