// Why: every change to GPU allocation happens inside one Lua script, so it is atomic in Redis: a
// placement is checked against device capacity and written in the same step (no device is ever
// double-allocated, whatever the replicas race), and the leader-only scripts check the fencing token
// first (a paused old leader cannot write). Usage is kept per node and per device in one hash.
//
// Job hash fields: spec (JSON), tenant, priority, state, queuedAt, placedAt, startedAt, endedAt,
// reason, placement (JSON), attempt, retries, preemptions, lease, maxRetries, requeue (0/1),
// preemptible (0/1), user (the submitter). Usage hash fields: n|NODE|cpu, n|NODE|mem,
// d|NODE|IDX|{milli,mem,holders,excl}. Open hash: user -> jobs of theirs queued, placed or running
// (+1 at create, -1 when a job ends; records from before the field existed carry no user and are not
// counted). Run claim (gpu:exec:ID:ATTEMPT): the owner of the simulated executor running that attempt.

/** Helpers shared by the scripts (prepended to each). */
const PRELUDE = `
local function event(channel, id, state)
  redis.call('PUBLISH', channel, '{"id":"' .. id .. '","state":"' .. state .. '"}')
end
local function is_live(state) return state == 'placed' or state == 'running' end
-- Adds sign * (the job's placement) to the usage hash, or to a delta table when one is given.
local function apply_usage(usage, p, sign, delta)
  local function add(field, v)
    local d = sign * v
    -- Lua turns -1 * 0 into -0, which HINCRBY refuses as "not an integer": zero changes nothing anyway.
    if d == 0 then return end
    if delta then delta[field] = (delta[field] or 0) + d
    else redis.call('HINCRBY', usage, field, d) end
  end
  add('n|' .. p.node .. '|cpu', p.cpuMilli)
  add('n|' .. p.node .. '|mem', p.memoryMiB)
  for _, d in ipairs(p.devices) do
    local base = 'd|' .. p.node .. '|' .. d.gpuIndex .. '|'
    add(base .. 'milli', d.milli)
    add(base .. 'mem', d.memoryMiB)
    add(base .. 'holders', 1)
    if p.exclusive then add(base .. 'excl', 1) end
  end
end
local function fenced(leader, epoch, owner, token)
  return redis.call('GET', leader) ~= owner or redis.call('GET', epoch) ~= token
end
-- Frees a live job's GPUs and takes it out of the live and lease sets.
local function release(usage, live, leases, key, id)
  local pj = redis.call('HGET', key, 'placement')
  if pj then apply_usage(usage, cjson.decode(pj), -1, nil) end
  redis.call('ZREM', live, id)
  redis.call('ZREM', leases, id)
end
-- A job ended: one less open job for its submitter (the field goes when it reaches 0).
local function closed(open, key)
  local user = redis.call('HGET', key, 'user')
  if not user then return end
  if redis.call('HINCRBY', open, user, -1) <= 0 then redis.call('HDEL', open, user) end
end
-- Back to the queue (keeps the original queue time, so it does not lose its place by age).
local function requeue(pending, key, id, reason)
  redis.call('HSET', key, 'state', 'queued', 'reason', reason)
  redis.call('HDEL', key, 'placement', 'placedAt', 'startedAt', 'lease')
  redis.call('ZADD', pending, redis.call('HGET', key, 'queuedAt'), id)
end
`;

/**
 * create: KEYS job, pending, all, open; ARGV id, spec, tenant, priority, queuedAt, maxRetries, requeue,
 * preemptible, channel, user. Returns 1 when created, 0 when it existed.
 */
export const CREATE_JOB = `${PRELUDE}
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'spec', ARGV[2], 'tenant', ARGV[3], 'priority', ARGV[4], 'state', 'queued',
  'queuedAt', ARGV[5], 'attempt', 0, 'retries', 0, 'preemptions', 0, 'maxRetries', ARGV[6],
  'requeue', ARGV[7], 'preemptible', ARGV[8], 'user', ARGV[10])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
redis.call('HINCRBY', KEYS[4], ARGV[10], 1)
event(ARGV[9], ARGV[1], 'queued')
return 1
`;

/**
 * place (leader only): KEYS leader, epoch, usage, pending, live, leases, open, job, victim jobs...;
 * ARGV owner, token, id, placement JSON, now, leaseTtlMs, channel, node caps JSON [cpu, mem],
 * device caps JSON [[milli, mem], ...] (aligned with placement.devices), victim ids...
 * Returns 'ok', 'fenced', 'stale' (job not queued, or a victim not live / not lower priority), or
 * 'nofit: ...' (the placement would over-commit; nothing was written).
 */
export const PLACE_JOB = `${PRELUDE}
local leader, epoch, usage, pending, live, leases, open, key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local owner, token, id, now, ttl, channel = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
if fenced(leader, epoch, owner, token) then return 'fenced' end
if redis.call('HGET', key, 'state') ~= 'queued' or not redis.call('ZSCORE', pending, id) then return 'stale' end
local priority = tonumber(redis.call('HGET', key, 'priority'))
local p = cjson.decode(ARGV[4])
local nodeCaps = cjson.decode(ARGV[8])
local devCaps = cjson.decode(ARGV[9])
-- Victims first, into a delta table only: nothing is written unless the whole placement fits.
local delta = {}
local victims = {}
for i = 9, #KEYS do
  local vkey, vid = KEYS[i], ARGV[i + 1]
  local vstate = redis.call('HGET', vkey, 'state')
  if not is_live(vstate) then return 'stale' end
  if tonumber(redis.call('HGET', vkey, 'priority')) >= priority then return 'stale' end
  if redis.call('HGET', vkey, 'preemptible') == '0' then return 'stale' end
  apply_usage(usage, cjson.decode(redis.call('HGET', vkey, 'placement')), -1, delta)
  victims[#victims + 1] = { vkey, vid }
end
local function cur(field) return tonumber(redis.call('HGET', usage, field) or '0') + (delta[field] or 0) end
if cur('n|' .. p.node .. '|cpu') + p.cpuMilli > nodeCaps[1] then return 'nofit: cpu on ' .. p.node end
if cur('n|' .. p.node .. '|mem') + p.memoryMiB > nodeCaps[2] then return 'nofit: memory on ' .. p.node end
for i, d in ipairs(p.devices) do
  local base = 'd|' .. p.node .. '|' .. d.gpuIndex .. '|'
  local caps = devCaps[i]
  if p.exclusive then
    if cur(base .. 'holders') ~= 0 then return 'nofit: gpu ' .. d.gpuIndex .. ' on ' .. p.node .. ' is in use' end
  else
    if cur(base .. 'excl') ~= 0 then return 'nofit: gpu ' .. d.gpuIndex .. ' on ' .. p.node .. ' is held whole' end
  end
  if cur(base .. 'milli') + d.milli > caps[1] then return 'nofit: gpu ' .. d.gpuIndex .. ' milli on ' .. p.node end
  if cur(base .. 'mem') + d.memoryMiB > caps[2] then return 'nofit: gpu ' .. d.gpuIndex .. ' memory on ' .. p.node end
end
-- It fits: preempt, then place.
for _, v in ipairs(victims) do
  local vkey, vid = v[1], v[2]
  release(usage, live, leases, vkey, vid)
  redis.call('HINCRBY', vkey, 'preemptions', 1)
  local reason = 'preempted by ' .. id .. ' (priority ' .. priority .. ')'
  if redis.call('HGET', vkey, 'requeue') == '1' then
    requeue(pending, vkey, vid, reason)
    event(channel, vid, 'queued')
  else
    redis.call('HSET', vkey, 'state', 'preempted', 'reason', reason, 'endedAt', now)
    closed(open, vkey)
    event(channel, vid, 'preempted')
  end
end
apply_usage(usage, p, 1, nil)
redis.call('HSET', key, 'state', 'placed', 'placement', ARGV[4], 'placedAt', now, 'lease', now + ttl)
redis.call('HDEL', key, 'reason', 'startedAt')
redis.call('HINCRBY', key, 'attempt', 1)
redis.call('ZREM', pending, id)
redis.call('ZADD', live, now, id)
redis.call('ZADD', leases, now + ttl, id)
event(channel, id, 'placed')
return 'ok'
`;

/**
 * heartbeat: KEYS job, leases; ARGV id, now, leaseTtlMs, attempt ('' = any), channel.
 * Returns {state, lease or '', reason or ''}; the lease is extended only for a live job (of that attempt).
 */
export const HEARTBEAT_JOB = `${PRELUDE}
local key, leases = KEYS[1], KEYS[2]
local id, now, ttl, attempt, channel = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5]
local state = redis.call('HGET', key, 'state')
if not state then return { 'missing', '', '' } end
local reason = redis.call('HGET', key, 'reason') or ''
if not is_live(state) or (attempt ~= '' and redis.call('HGET', key, 'attempt') ~= attempt) then
  return { state, '', reason }
end
if state == 'placed' then
  redis.call('HSET', key, 'state', 'running', 'startedAt', now)
  state = 'running'
  event(channel, id, 'running')
end
redis.call('HSET', key, 'lease', now + ttl)
redis.call('ZADD', leases, now + ttl, id)
return { state, tostring(now + ttl), reason }
`;

/**
 * finish: KEYS job, usage, pending, live, leases, open; ARGV id, action (completed|failed|cancelled), now,
 * message, attempt ('' = any), channel, retentionSeconds.
 * Returns {'ok'|'conflict'|'missing', state}. Repeating the same finish is 'ok' (idempotent).
 */
export const FINISH_JOB = `${PRELUDE}
local key, usage, pending, live, leases, open = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local id, action, now, message, attempt, channel, retention = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7])
local state = redis.call('HGET', key, 'state')
if not state then return { 'missing', '' } end
if state == action then return { 'ok', state } end
if state ~= 'queued' and not is_live(state) then return { 'conflict', state } end
if action ~= 'cancelled' then
  if not is_live(state) then return { 'conflict', state } end
  if attempt ~= '' and redis.call('HGET', key, 'attempt') ~= attempt then return { 'conflict', state } end
end
if is_live(state) then release(usage, live, leases, key, id) end
redis.call('ZREM', pending, id)
redis.call('HSET', key, 'state', action, 'endedAt', now)
closed(open, key)
if message ~= '' then redis.call('HSET', key, 'reason', message) end
if retention > 0 then redis.call('EXPIRE', key, retention) end
event(channel, id, action)
return { 'ok', action }
`;

/**
 * expire (leader only): KEYS leader, epoch, job, usage, pending, live, leases, open; ARGV owner, token, id,
 * now, channel, retentionSeconds. A live job whose lease is past goes back to the queue while it has
 * retries left, else fails. Returns 'queued', 'failed', 'fenced' or 'alive' (heartbeat came in / gone).
 */
export const EXPIRE_JOB = `${PRELUDE}
local leader, epoch, key, usage, pending, live, leases, open = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local owner, token, id, now, channel, retention = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])
if fenced(leader, epoch, owner, token) then return 'fenced' end
local state = redis.call('HGET', key, 'state')
if not state then
  redis.call('ZREM', leases, id)
  redis.call('ZREM', live, id)
  return 'alive'
end
local lease = tonumber(redis.call('HGET', key, 'lease') or '0')
if not is_live(state) then
  redis.call('ZREM', leases, id)
  return 'alive'
end
if lease > now then
  redis.call('ZADD', leases, lease, id)
  return 'alive'
end
release(usage, live, leases, key, id)
local retries = tonumber(redis.call('HGET', key, 'retries') or '0')
local maxRetries = tonumber(redis.call('HGET', key, 'maxRetries') or '0')
local why = 'lease expired (no heartbeat by ' .. lease .. ')'
if retries < maxRetries then
  redis.call('HINCRBY', key, 'retries', 1)
  requeue(pending, key, id, why .. '; re-queued, retry ' .. (retries + 1) .. ' of ' .. maxRetries)
  event(channel, id, 'queued')
  return 'queued'
end
redis.call('HSET', key, 'state', 'failed', 'reason', why, 'endedAt', now)
closed(open, key)
if retention > 0 then redis.call('EXPIRE', key, retention) end
event(channel, id, 'failed')
return 'failed'
`;

/**
 * claim run (simulated executor): KEYS claim (gpu:exec:ID:ATTEMPT); ARGV owner, ttlMs. Takes the claim
 * when no one holds it, or renews it for its owner; returns 1 when `owner` holds it now, 0 when another
 * owner does (that replica runs this attempt).
 */
export const CLAIM_RUN = `
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 1 end
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

/**
 * leader: KEYS leader, epoch; ARGV owner, ttlMs. Acquires (a new epoch: the fencing token) or renews
 * (the current epoch); returns 0 when another owner holds it.
 */
export const ACQUIRE_LEADER = `
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(redis.call('GET', KEYS[2]) or '0')
end
if cur then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return redis.call('INCR', KEYS[2])
`;

/**
 * adopt leader: KEYS leader, epoch; ARGV owner, epoch, ttlMs. The Lease election's half in Redis: an
 * epoch won on a Kubernetes Lease becomes the fencing token when it is newer than the stored one (or is
 * the stored one and `owner` holds it, or nobody does: a renewal after the key's TTL ran out); returns
 * it, or 0 when a newer epoch is already here (another leader was elected since).
 */
export const ADOPT_LEADER = `
local cur = tonumber(redis.call('GET', KEYS[2]) or '0')
local won = tonumber(ARGV[2])
local holder = redis.call('GET', KEYS[1])
if won > cur then
  redis.call('SET', KEYS[2], ARGV[2])
elseif won < cur or (holder and holder ~= ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return won
`;

/** resign: KEYS leader; ARGV owner, channel. Tells the other replicas, so one takes over at once. */
export const RESIGN_LEADER = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], '{"id":"","state":"leader-resigned"}')
  return 1
end
return 0
`;

/**
 * snapshot (read-only): KEYS pending, live, usage, open; ARGV job key prefix. One consistent view for
 * the audit: {pending ids, their states, live ids, their states, their placements, usage as a flat
 * list, the submitters of pending then live jobs ('' when not recorded), the open hash as a flat list}.
 */
export const SNAPSHOT = `
local pending = redis.call('ZRANGE', KEYS[1], 0, -1)
local live = redis.call('ZRANGE', KEYS[2], 0, -1)
local pstates, lstates, lplacements, users = {}, {}, {}, {}
for i, id in ipairs(pending) do
  pstates[i] = redis.call('HGET', ARGV[1] .. id, 'state') or ''
  users[#users + 1] = redis.call('HGET', ARGV[1] .. id, 'user') or ''
end
for i, id in ipairs(live) do
  lstates[i] = redis.call('HGET', ARGV[1] .. id, 'state') or ''
  lplacements[i] = redis.call('HGET', ARGV[1] .. id, 'placement') or ''
  users[#users + 1] = redis.call('HGET', ARGV[1] .. id, 'user') or ''
end
return { pending, pstates, live, lstates, lplacements, redis.call('HGETALL', KEYS[3]), users, redis.call('HGETALL', KEYS[4]) }
`;
