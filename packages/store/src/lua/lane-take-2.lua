-- Takes activated conversations for a worker to send (message-accept put them there), or lets go of the list.
-- While a worker takes (busy set), accepts add no job: the taker takes again until it finds the list empty with none
-- of its lanes left in flight, and that empty take clears busy, so the next accept asks for a job again. Busy
-- expires: a taker that died (or is full) for that long leaves the list to a new job (the reconciler adds one for a
-- list left without a taker).
-- KEYS[1] activations   P:{pN}:act:<priority>
-- KEYS[2] busy          P:{pN}:act:<priority>:busy
-- ARGV[1] how many to take at most (0: let go: clear busy and take nothing) · ARGV[2] busy ttl (ms) · ARGV[3] '1':
-- the taker has lanes in flight and takes again even when this take finds nothing (busy kept)
-- ARGV[4] '1' to claim each conversation taken (includes/claim-lane.lua), as lane-claim would, in this same call;
-- then ARGV[5] lock token prefix (a conversation's token: the prefix and the conversation) · ARGV[6] lock ms ·
-- ARGV[7] peek count · ARGV[8] the partition's key tag 'P:{pN}' · ARGV[9] '1' to mark each first message ·
-- ARGV[10] now (ms) · ARGV[11] max message age (ms). The conversations' keys are not in KEYS (they are what it takes);
-- they carry the partition's hash tag, on the slot of the declared keys.
-- Returns {n, conv1, conv2, ...}: n is what is left in the list after the take; with ARGV[4] '1',
-- {n, conv1, claim1, conv2, claim2, ...}, each claim what lane-claim returns.
--- @include "claim-lane"
local max = tonumber(ARGV[1])
if max <= 0 then
  redis.call('DEL', KEYS[2])
  return {redis.call('LLEN', KEYS[1])}
end
local convs = redis.call('LRANGE', KEYS[1], 0, max - 1)
if #convs == 0 then
  if ARGV[3] == '1' then
    redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
  else
    redis.call('DEL', KEYS[2])
  end
  return {0}
end
redis.call('LTRIM', KEYS[1], #convs, -1)
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
local out = {redis.call('LLEN', KEYS[1])}
local claim = ARGV[4] == '1'
for _, c in ipairs(convs) do
  out[#out + 1] = c
  if claim then
    local t = ARGV[8]
    out[#out + 1] = claim_lane(t .. ':lock:' .. c, t .. ':lane:' .. c, t .. ':lanes', t .. ':conv:' .. c, ARGV[5] .. c,
      ARGV[6], tonumber(ARGV[7]), t .. ':m:', c, ARGV[9] == '1', ARGV[10], tonumber(ARGV[11]))
  end
end
return out
