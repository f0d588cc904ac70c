/*
 * fair-share.ts's decideAdmission in one atomic step, plus the endpoint slot (keep the two in step;
 * rate-limit-state.spec.ts runs both on the same sequence).
 * KEYS: pool hash of this window (per tenant, and _total), of the previous window, active zset
 * (tenant → last ask), meta hash (<tenant>:f first ask of its run, <tenant>:d last denial), endpoint slot.
 * ARGV: tenant, now, windowMs, windowEnds, appCap, shareCap, cost, contentionMs, WAITING_MS,
 * DEMAND_MARGIN, MIN_RATE_SPAN_MS, slot interval (0: none), slot deadline, pool ttl.
 * Returns {code (0 ok, 1 app_pool, 2 fair_share, 3 burst), active tenants, pool used, goAt}.
 */
export const ADMIT_SCRIPT = `
local tenant, now, windowMs, windowEnds = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local cap, share, cost, contention = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local waiting, margin, minSpan = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
local interval, deadline, ttl = tonumber(ARGV[12]), tonumber(ARGV[13]), ARGV[14]
local last = redis.call('ZSCORE', KEYS[3], tenant)
if (not last) or tonumber(last) < now - contention then redis.call('HSET', KEYS[4], tenant .. ':f', now) end
redis.call('ZADD', KEYS[3], now, tenant)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. (now - contention))
redis.call('PEXPIRE', KEYS[3], contention + 60000)
redis.call('PEXPIRE', KEYS[4], contention + 3600000)
local active = redis.call('ZCARD', KEYS[3])
local total = tonumber(redis.call('HGET', KEYS[1], '_total') or '0')
local slot = now
if interval > 0 then
  slot = math.max(now, tonumber(redis.call('GET', KEYS[5]) or '0'))
  if slot > deadline then return {3, active, total, slot} end
end
local function deny(code, retryAt)
  redis.call('HSET', KEYS[4], tenant .. ':d', now)
  return {code, active, total, math.ceil(retryAt)}
end
if total + cost > cap then return deny(1, windowEnds) end
local mine = tonumber(redis.call('HGET', KEYS[1], tenant) or '0')
if mine + cost > share then
  local reserved, fixed, rates, lefts = 0, 0, {}, {}
  local elapsedFraction = math.min(1, math.max(0, 1 - (windowEnds - now) / windowMs))
  local others = redis.call('ZRANGE', KEYS[3], 0, -1)
  for _, o in ipairs(others) do
    if o ~= tenant then
      local used = tonumber(redis.call('HGET', KEYS[1], o) or '0')
      local left = math.max(0, share - used)
      local denied = tonumber(redis.call('HGET', KEYS[4], o .. ':d') or '0')
      if left == 0 or now - denied <= waiting then
        fixed = fixed + left
      else
        local recent = used + tonumber(redis.call('HGET', KEYS[2], o) or '0') * (1 - elapsedFraction)
        local first = tonumber(redis.call('HGET', KEYS[4], o .. ':f') or ARGV[2])
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
redis.call('HINCRBY', KEYS[1], '_total', cost)
redis.call('HINCRBY', KEYS[1], tenant, cost)
redis.call('PEXPIRE', KEYS[1], ttl)
if interval > 0 then redis.call('SET', KEYS[5], tostring(slot + interval), 'PX', math.max(1000, slot + interval - now)) end
return {0, active, total + cost, slot}`;

/* KEYS: pool hash. ARGV: tenant, cost. */
export const REFUND_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], '_total', -tonumber(ARGV[2]))
redis.call('HINCRBY', KEYS[1], ARGV[1], -tonumber(ARGV[2]))
return 1`;
