-- finishRecord(key): what a record keeps once terminal, for TTPUSH_RECORD_TTL. It loses the fields only a send
-- reads: the text x (kept by a message sent as parts, pp: its view splits it back), the conversation c, the
-- create_time ct and floor fl of the read-back, the callback URL cb (read for the webhook before the outcome); and
-- the fields a record from before they were left out on accept holds at the reader's default (tt u, p normal, a 0).
-- A hash once given a value over hash-max-listpack-value (64 bytes by default: a long text) stays a hashtable,
-- several times the listpack's size: such a record is written again when what it keeps fits a listpack.
-- Reads and writes key only; keeps the fields the view, the owner checks and the done channel read (n).
local function finishRecord(key)
  local v = redis.call('HMGET', key, 'pp', 'tt', 'p', 'a')
  local names = { 'c', 'ct', 'fl', 'cb' }
  if v[1] ~= '1' then names[#names + 1] = 'x' end
  if v[2] == 'u' then names[#names + 1] = 'tt' end
  if v[3] == 'normal' then names[#names + 1] = 'p' end
  if v[4] == '0' then names[#names + 1] = 'a' end
  if redis.call('OBJECT', 'ENCODING', key) == 'hashtable' then
    local drop = {}
    for _, f in ipairs(names) do drop[f] = true end
    local h = redis.call('HGETALL', key)
    local keep = {}
    local fits = true
    for i = 1, #h, 2 do
      if not drop[h[i]] then
        keep[#keep + 1] = h[i]
        keep[#keep + 1] = h[i + 1]
        if #h[i] > 64 or #h[i + 1] > 64 then fits = false end
      end
    end
    if fits and #keep > 0 then
      redis.call('DEL', key)
      redis.call('HSET', key, unpack(keep))
      return
    end
  end
  redis.call('HDEL', key, unpack(names))
end
