-- Takes (or keeps) a conversation's lock and returns what to send next, in one round trip; when asked, also marks the
-- lane's first message `sending` for a new attempt (includes/mark-first-send.lua), so the worker sends it at once
-- (includes/claim-lane.lua, which lane-take also runs for the conversations it takes).
-- The records it reads (and the one it marks) are not in KEYS (their ids are what it finds out); they carry the
-- lane's hash tag, so on a Redis Cluster they lie on the slot of the declared keys.
-- KEYS[1] lock    P:{pN}:lock:<conv>
-- KEYS[2] lane    P:{pN}:lane:<conv>
-- KEYS[3] lanes   P:{pN}:lanes
-- KEYS[4] conv    P:{pN}:conv:<conv> (fields lmid, lct, lh)
-- ARGV[1] lock token · ARGV[2] lock ms · ARGV[3] peek count · ARGV[4] message key prefix 'P:{pN}:m:' · ARGV[5] conv ·
-- ARGV[6] '1' to mark the first message, '0' not to · ARGV[7] now (ms) · ARGV[8] max message age (ms)
-- Returns {-2 (LockLost)} another worker holds the lock; {0} the lane is empty (the lock is released and the lane
-- leaves P:lanes, atomically, so a message pushed after this is activated by its own job); otherwise
-- {1, lmid, lct, lh, ct, id1, fields1, id2, fields2, ...} for the first `peek` ids of the lane (fields: HGETALL,
-- read before the mark), ct the create_time the first message was marked `sending` with (its floor: lmid), or 0
-- when it was not marked.
--- @include "claim-lane"
return claim_lane(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5],
  ARGV[6] == '1', ARGV[7], tonumber(ARGV[8]))
