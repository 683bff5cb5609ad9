-- mark_first_send(m, now, max_age, lmid, lct, lh): a new attempt decided in Redis, as the worker decides one
-- (lane-processor.ts): record m is marked `sending` as lane-mark-sending-2.lua marks it (s, ua, ct, fl, a + 1) when it
-- is queued (not sending: a message found in flight is read back first), not past its deadline (dl) and not past
-- the max message age (sa, else ca, + max_age). Its create_time is now's second, or lct + 1 when that second is not
-- past the conversation's last one and the text is the last text (lh: the first 16 hex digits of its SHA-1, as
-- textHash in lane-store.ts): two texts alike in one second would be told apart by nothing on read-back. The
-- floor is lmid.
-- now: ms (string); max_age: ms; lmid: string; lct: number; lh: string or false.
-- Returns the create_time (s) when it marked m, else nil (the worker decides: fails it, reads it back, drops it).
-- Reads m: s dl sa ca x. Writes m: s ua ct fl a.
local function mark_first_send(m, now, max_age, lmid, lct, lh)
  local r = redis.call('HMGET', m, 's', 'dl', 'sa', 'ca', 'x')
  if r[1] ~= 'queued' then return nil end
  local t = tonumber(now)
  if r[2] and r[2] ~= '' and t > tonumber(r[2]) then return nil end
  local from = (r[3] and r[3] ~= '') and r[3] or r[4]
  if t > tonumber(from or '0') + max_age then return nil end
  local ct = math.floor(t / 1000)
  if ct <= lct and lh and string.sub(redis.sha1hex(r[5] or ''), 1, 16) == lh then ct = lct + 1 end
  redis.call('HSET', m, 's', 'sending', 'ua', now, 'ct', ct, 'fl', lmid)
  redis.call('HINCRBY', m, 'a', 1)
  return ct
end
