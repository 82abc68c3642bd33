// Why: each atomic Redis transition of the cache is one Lua script, named by verb and key count
// (the BullMQ way), so a store and an invalidation can never interleave into a stale entry.

/**
 * putEntry-N: store an entry unless one of its tables or its user was invalidated while the query ran.
 * KEYS[1] = entry key; KEYS[2..1+n] = index sets (user, tables); KEYS[2+n..1+2n] = their version keys.
 * ARGV[1] = envelope bytes; ARGV[2] = retention ms; ARGV[3] = key hash; ARGV[4] = n;
 * ARGV[5..4+n] = the versions read when the query started.
 * Returns 1 when stored, 0 when a version moved (nothing written).
 */
export const PUT_ENTRY = `
local n = tonumber(ARGV[4])
for i = 1, n do
  local v = redis.call('GET', KEYS[1 + n + i]) or '0'
  if v ~= ARGV[4 + i] then return 0 end
end
local px = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', px)
for i = 1, n do
  redis.call('SADD', KEYS[1 + i], ARGV[3])
  if redis.call('PTTL', KEYS[1 + i]) < px then redis.call('PEXPIRE', KEYS[1 + i], px) end
end
return 1
`;

/**
 * invalidateIndex-2: drop every entry an index set names and move its version on.
 * KEYS[1] = index set; KEYS[2] = version key. ARGV[1] = entry key prefix.
 * Returns the number of entries removed.
 */
export const INVALIDATE_INDEX = `
redis.call('INCR', KEYS[2])
local members = redis.call('SMEMBERS', KEYS[1])
local n = 0
for _, h in ipairs(members) do n = n + redis.call('UNLINK', ARGV[1] .. h) end
redis.call('DEL', KEYS[1])
return n
`;

/** releaseLock-1: delete the lock only if we still own it. KEYS[1] = lock; ARGV[1] = owner. Returns 1/0. */
export const RELEASE_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** extendLock-1: renew the lock only if we still own it. KEYS[1] = lock; ARGV[1] = owner; ARGV[2] = ms. */
export const EXTEND_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;
