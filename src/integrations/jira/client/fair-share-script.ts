/*
 * fair-share.ts's decideAdmission in one atomic step, plus the endpoint slot (keep the two in step;
 * rate-limit-state.spec.ts runs both on the same sequence).
 * KEYS: pool hash of this window (per tenant, and _total), of the previous window, active zset
 * (tenant → last ask), meta hash (<tenant>:f first ask of its run, <tenant>:d last denial), endpoint slot.
 * ARGV: tenant, now, windowMs, windowEnds, appCap, shareCap, cost, contentionMs, WAITING_MS,
 * DEMAND_MARGIN, MIN_RATE_SPAN_MS, slot interval (0: none), slot deadline, pool ttl.
 * Returns {code (0 ok, 1 app_pool, 2 fair_share, 3 burst), active tenants, pool used, goAt}.
 * A Lua function, so that STEP_SCRIPT runs it inside the same atomic step (K, A: its KEYS, ARGV).
 */
const ADMIT_FUNCTION = `
local function admit(K, A)
  local tenant, now, windowMs, windowEnds = A[1], tonumber(A[2]), tonumber(A[3]), tonumber(A[4])
  local cap, share, cost, contention = tonumber(A[5]), tonumber(A[6]), tonumber(A[7]), tonumber(A[8])
  local waiting, margin, minSpan = tonumber(A[9]), tonumber(A[10]), tonumber(A[11])
  local interval, deadline, ttl = tonumber(A[12]), tonumber(A[13]), A[14]
  local last = redis.call('ZSCORE', K[3], tenant)
  if (not last) or tonumber(last) < now - contention then redis.call('HSET', K[4], tenant .. ':f', now) end
  redis.call('ZADD', K[3], now, tenant)
  redis.call('ZREMRANGEBYSCORE', K[3], '-inf', '(' .. (now - contention))
  redis.call('PEXPIRE', K[3], contention + 60000)
  redis.call('PEXPIRE', K[4], contention + 3600000)
  local active = redis.call('ZCARD', K[3])
  local total = tonumber(redis.call('HGET', K[1], '_total') or '0')
  local slot = now
  if interval > 0 then
    slot = math.max(now, tonumber(redis.call('GET', K[5]) or '0'))
    if slot > deadline then return {3, active, total, slot} end
  end
  local function deny(code, retryAt)
    redis.call('HSET', K[4], tenant .. ':d', now)
    return {code, active, total, math.ceil(retryAt)}
  end
  if total + cost > cap then return deny(1, windowEnds) end
  local mine = tonumber(redis.call('HGET', K[1], tenant) or '0')
  if mine + cost > share then
    local reserved, fixed, rates, lefts = 0, 0, {}, {}
    local elapsedFraction = math.min(1, math.max(0, 1 - (windowEnds - now) / windowMs))
    local others = redis.call('ZRANGE', K[3], 0, -1)
    for _, o in ipairs(others) do
      if o ~= tenant then
        local used = tonumber(redis.call('HGET', K[1], o) or '0')
        local left = math.max(0, share - used)
        local denied = tonumber(redis.call('HGET', K[4], o .. ':d') or '0')
        if left == 0 or now - denied <= waiting then
          fixed = fixed + left
        else
          local recent = used + tonumber(redis.call('HGET', K[2], o) or '0') * (1 - elapsedFraction)
          local first = tonumber(redis.call('HGET', K[4], o .. ':f') or A[2])
          rates[#rates + 1] = (recent / math.min(windowMs, math.max(minSpan, now - first))) * margin
          lefts[#lefts + 1] = left
        end
      end
    end
    local function owedAt(t)
      local sum = fixed
      for i = 1, #rates do sum = sum + math.min(lefts[i], math.floor(rates[i] * math.max(0, windowEnds - t) + 0.5)) end
      return sum
    end
    local room = cap - total - cost
    reserved = owedAt(now)
    if reserved > room then
      if owedAt(windowEnds) > room then return deny(2, windowEnds) end
      local lo, hi = now, windowEnds
      for _ = 1, 40 do
        if hi - lo <= 1 then break end
        local mid = math.floor((lo + hi) / 2)
        if owedAt(mid) <= room then hi = mid else lo = mid end
      end
      return deny(2, hi)
    end
  end
  redis.call('HINCRBY', K[1], '_total', cost)
  redis.call('HINCRBY', K[1], tenant, cost)
  redis.call('PEXPIRE', K[1], ttl)
  if interval > 0 then redis.call('SET', K[5], tostring(slot + interval), 'PX', math.max(1000, slot + interval - now)) end
  return {0, active, total + cost, slot}
end`;

/** ADMIT on its own (the pool's waiters re-ask with it). */
export const ADMIT_SCRIPT = `${ADMIT_FUNCTION}
return admit(KEYS, ARGV)`;

/* KEYS: pool hash. ARGV: tenant, cost. */
export const REFUND_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], '_total', -tonumber(ARGV[2]))
redis.call('HINCRBY', KEYS[1], ARGV[1], -tonumber(ARGV[2]))
return 1`;

/*
 * Snapshots (what Atlassian last said about a scope) are two keys: the snapshot's JSON without
 * its last 429, and the last 429 (written only after a 429, so a later answer never needs to read
 * it back to keep it). The snapshot lives at least as long as its 429 does.
 * KEYS: snapshot, last 429. ARGV: snapshot JSON, last 429 JSON ('' when none), ttl.
 */
const SAVE_FUNCTION = `
local function save(snapKey, lastKey, json, last, ttl)
  ttl = tonumber(ttl)
  if last ~= '' then redis.call('SET', lastKey, last, 'PX', ttl) end
  local keep = redis.call('PTTL', lastKey)
  if keep > ttl then ttl = keep end
  redis.call('SET', snapKey, json, 'PX', ttl)
end`;

/* Writes ARGV[first..] as `count` snapshots (3 ARGV each) into KEYS[1..2 × count]. */
const SAVE_ALL_FUNCTION = `
local function saveAll(count, first)
  for i = 1, count do
    local a = first + (i - 1) * 3
    save(KEYS[2 * i - 1], KEYS[2 * i], ARGV[a], ARGV[a + 1], ARGV[a + 2])
  end
end`;

/**
 * One Jira call's step (the governor's common case in one round trip): writes this instance's
 * snapshots not yet sent, finds the latest block among the call's scopes, and unless one is
 * blocked runs ADMIT; returns the snapshots the pacing needs.
 * KEYS: 2 per snapshot to write, the block keys, 2 per snapshot to read, then ADMIT's 5 (if asked).
 * ARGV: snapshots to write, block keys, snapshots to read (counts), 1/0 (admit), now; 3 per
 * snapshot to write; then ADMIT's 14.
 * Returns {block end (0: none), index of its key (1-based, 0: none), ADMIT's 4 (0s when not run),
 * then per snapshot read: JSON, last 429 JSON (false when absent)}.
 */
export const STEP_SCRIPT = `${ADMIT_FUNCTION}
${SAVE_FUNCTION}
${SAVE_ALL_FUNCTION}
local writes, blocks, reads, asked, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4] == '1', tonumber(ARGV[5])
saveAll(writes, 6)
local k = 2 * writes
local untilMs, which = 0, 0
for i = 1, blocks do
  local v = tonumber(redis.call('GET', KEYS[k + i]) or '0')
  if v > now and v > untilMs then untilMs, which = v, i end
end
k = k + blocks
local out = {untilMs, which, 0, 0, 0, 0}
if which == 0 and asked then
  local K, A = {}, {}
  for i = 1, 5 do K[i] = KEYS[k + 2 * reads + i] end
  for i = 1, 14 do A[i] = ARGV[5 + 3 * writes + i] end
  local r = admit(K, A)
  out[3], out[4], out[5], out[6] = r[1], r[2], r[3], r[4]
end
for i = 1, reads do
  out[#out + 1] = redis.call('GET', KEYS[k + 2 * i - 1])
  out[#out + 1] = redis.call('GET', KEYS[k + 2 * i])
end
return out`;

/**
 * Writes snapshots and, after a 429, the block of its scope (an earlier end never shortens a later one).
 * KEYS: 2 per snapshot, then the block key (if any). ARGV: snapshot count, block end ('' when none),
 * block ttl; 3 per snapshot.
 */
export const RECORD_SCRIPT = `${SAVE_FUNCTION}
${SAVE_ALL_FUNCTION}
local count = tonumber(ARGV[1])
saveAll(count, 4)
if ARGV[2] ~= '' then
  local key = KEYS[2 * count + 1]
  if tonumber(ARGV[2]) > tonumber(redis.call('GET', key) or '0') then redis.call('SET', key, ARGV[2], 'PX', ARGV[3]) end
end
return 1`;
