// Why: each atomic Redis transition of the cache is one Lua script, named by verb and key count
// (the BullMQ way), so a store and an invalidation can never interleave into a stale entry.

/**
 * putEntry-N: store an entry unless "invalidate all" moved the generation, or its user, one of its tables
 * or (for an entry whose table set is incomplete) any table was invalidated, while the query ran.
 * KEYS[1] = entry key; KEYS[2] = generation key; KEYS[3..2+n] = index sets (user, tables);
 * KEYS[3+n..] = the version keys to check (user, tables, or the incomplete-set version).
 * ARGV[1] = envelope bytes; ARGV[2] = retention ms; ARGV[3] = key hash; ARGV[4] = n (index sets);
 * ARGV[5] = the generation read when the query started; ARGV[6..] = the versions read then, in KEYS order.
 * Returns 1 when stored, 0 when something moved (nothing written).
 */
export const PUT_ENTRY = `
local n = tonumber(ARGV[4])
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[5] then return 0 end
for i = 3 + n, #KEYS do
  local v = redis.call('GET', KEYS[i]) or '0'
  if v ~= ARGV[6 + i - (3 + n)] then return 0 end
end
local px = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', px)
for i = 1, n do
  redis.call('SADD', KEYS[2 + i], ARGV[3])
  if redis.call('PTTL', KEYS[2 + i]) < px then redis.call('PEXPIRE', KEYS[2 + i], px) end
end
return 1
`;

/**
 * invalidateIndexes-0: drop every entry the named indexes hold, in the current generation (read here, so a
 * replica that missed an "invalidate all" still hits the live entries), and move their versions on; also
 * move the version named by ARGV[2] (the incomplete-set version: such entries are checked against it when
 * read, so no index of them is kept or walked).
 * ARGV[1] = key prefix P; ARGV[2] = a version name to move as well, or ''; ARGV[3..] = index names
 * (`u:<user>`, `t:<table>`): sets P g<gen>:<name>, versions P v:<name>, entries P g<gen>:e:<hash>.
 * Returns {entries removed, generation}.
 */
export const INVALIDATE_INDEXES = `
local p = ARGV[1]
local gen = redis.call('GET', p .. 'gen') or '0'
local g = p .. 'g' .. gen .. ':'
if ARGV[2] ~= '' then redis.call('INCR', p .. 'v:' .. ARGV[2]) end
local removed = 0
for i = 3, #ARGV do
  redis.call('INCR', p .. 'v:' .. ARGV[i])
  local set = g .. ARGV[i]
  for _, h in ipairs(redis.call('SMEMBERS', set)) do removed = removed + redis.call('UNLINK', g .. 'e:' .. h) end
  redis.call('DEL', set)
end
return {removed, tonumber(gen)}
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

/**
 * getEntryAtCurrentGen-2: read the namespace generation and the entry at that generation in one step,
 * for a replica whose invalidation channel is silent (it may have missed an "invalidate all").
 * KEYS[1] = generation key; KEYS[2] = incomplete-set version key. ARGV[1] = entry key up to the generation
 * (`P g`); ARGV[2] = the rest (`:e:<hash>`).
 * Returns { generation, entry bytes or nil, incomplete-set version or nil }.
 */
export const GET_ENTRY_AT_CURRENT_GEN = `
local gen = tonumber(redis.call('GET', KEYS[1]) or '0')
return { gen, redis.call('GET', ARGV[1] .. gen .. ARGV[2]), redis.call('GET', KEYS[2]) }
`;
