-- claim_lane(lock, lane, lanes, conv_key, token, lock_ms, peek, prefix, conv, mark, now, max_age): takes (or keeps)
-- conversation conv's lock for token and reads what to send next; with mark, also marks the lane's first message
-- `sending` for a new attempt (mark-first-send). lock, lane, conv_key: that conversation's keys; lanes: P:{pN}:lanes;
-- prefix: the message key prefix 'P:{pN}:m:' (the records it reads are found by their ids).
-- Returns {-2 (LockLost)} another worker holds the lock; {0} the lane is empty (the lock is released and the lane
-- leaves P:lanes, atomically, so a message pushed after this is activated again); otherwise
-- {1, lmid, lct, lh, ct, id1, fields1, id2, fields2, ...} for the first `peek` ids of the lane (fields: HGETALL,
-- read before the mark), ct the create_time the first message was marked `sending` with (its floor: lmid), or 0
-- when it was not marked.
--- @include "mark-first-send"
local function claim_lane(lock, lane, lanes, conv_key, token, lock_ms, peek, prefix, conv, mark, now, max_age)
  local cur = redis.call('GET', lock)
  if cur and cur ~= token then return {-2} end
  if redis.call('LLEN', lane) == 0 then
    if cur then redis.call('DEL', lock) end
    redis.call('ZREM', lanes, conv)
    return {0}
  end
  redis.call('SET', lock, token, 'PX', lock_ms)
  local c = redis.call('HMGET', conv_key, 'lmid', 'lct', 'lh')
  local lmid = c[1] or '0'
  local out = {1, lmid, c[2] or '0', c[3] or '', 0}
  local ids = redis.call('LRANGE', lane, 0, peek - 1)
  for _, id in ipairs(ids) do
    out[#out + 1] = id
    out[#out + 1] = redis.call('HGETALL', prefix .. id)
  end
  if mark and ids[1] then
    out[5] = mark_first_send(prefix .. ids[1], now, max_age, lmid, tonumber(c[2] or '0'), c[3]) or 0
  end
  return out
end
