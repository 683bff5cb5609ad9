-- Accepts a message: writes its record, counts it in the queue depth, lists it in the indexes (message-list.ts) and
-- either queues it on its conversation's lane or schedules it. With an Idempotency-Key, a repeat answers the first
-- message instead. All keys lie in the partition of the message's conversation (one Redis Cluster slot).
-- KEYS[1] record         P:{pN}:m:<id>
-- KEYS[2] lane           P:{pN}:lane:<conv>
-- KEYS[3] lanes          P:{pN}:lanes
-- KEYS[4] idempotency    P:{pN}:idem:<app>:<key> (any key of the slot when ARGV[4] is '0': not touched)
-- KEYS[5] depth          P:{pN}:depth
-- KEYS[6] scheduled      P:{pN}:sched
-- KEYS[7] app index      P:{pN}:ix:a:<app>
-- KEYS[8] key index      P:{pN}:ix:k:<key> (any key of the slot when ARGV[9] is '0': not touched)
-- KEYS[9] recent index   P:{pN}:ix:recent
-- KEYS[10] activations   P:{pN}:act:<priority>
-- KEYS[11] busy          P:{pN}:act:<priority>:busy
-- ARGV[1] id · ARGV[2] conv · ARGV[3] now (ms) · ARGV[4] '1' with an Idempotency-Key · ARGV[5] send time (ms) of a
-- scheduled message, or '' · ARGV[6] request fingerprint · ARGV[7] index cutoff (ms: entries accepted before it are
-- trimmed) · ARGV[8] index ttl (ms) · ARGV[9] '1' to write the key index · ARGV[10] recent index cap ·
-- ARGV[11..] the record's field/value pairs.
-- The Idempotency-Key holds '<first id> <fingerprint>' (a bare id: written before fingerprints), for 24 h.
-- A message that makes its lane non-empty (length 1) puts the conversation on the activations list: a worker takes it
-- from there (lane-take). Only the push that makes that list non-empty while no worker is taking it asks for a job.
-- Returns {1, id, lane length, 1 when the api must add a take job else 0} accepted (length 0 when scheduled);
-- {0, first id} a repeat of the key's request;
-- {-5 (KeyReused), first id} the key named another request.
-- The indexes cost a ZADD each; the trims find nothing to remove on almost every call.
if ARGV[4] == '1' then
  local existing = redis.call('GET', KEYS[4])
  if existing then
    local sp = string.find(existing, ' ', 1, true)
    if not sp then return {0, existing} end
    local first = string.sub(existing, 1, sp - 1)
    if string.sub(existing, sp + 1) ~= ARGV[6] then return {-5, first} end
    return {0, first}
  end
  redis.call('SET', KEYS[4], ARGV[1] .. ' ' .. ARGV[6], 'EX', 86400)
end
local fields = {}
for i = 11, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('INCR', KEYS[5])
redis.call('ZADD', KEYS[7], ARGV[3], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', '(' .. ARGV[7])
redis.call('PEXPIRE', KEYS[7], ARGV[8])
if ARGV[9] == '1' then
  redis.call('ZADD', KEYS[8], ARGV[3], ARGV[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', '(' .. ARGV[7])
  redis.call('PEXPIRE', KEYS[8], ARGV[8])
end
redis.call('ZADD', KEYS[9], ARGV[3], ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[9], 0, -1 - tonumber(ARGV[10]))
if ARGV[5] ~= '' then
  redis.call('ZADD', KEYS[6], ARGV[5], ARGV[1])
  return {1, ARGV[1], 0, 0}
end
local n = redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
local job = 0
if n == 1 and redis.call('RPUSH', KEYS[10], ARGV[2]) == 1 and redis.call('EXISTS', KEYS[11]) == 0 then job = 1 end
return {1, ARGV[1], n, job}
