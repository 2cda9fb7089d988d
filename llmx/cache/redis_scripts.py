"""The Lua scripts the shared store runs in Redis (each one atomic there). Text only."""

from __future__ import annotations

# compare-and-set on a lease's token, atomically in Redis (a lease held by another is kept)
RENEW = ("if redis.call('get', KEYS[1]) == ARGV[1] then "
          "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end")
# a token bucket: take ARGV[3] tokens (rate ARGV[1] a second, at most ARGV[2]); the seconds to
# wait. A bucket in debt (reservations ahead of its refill) must outlive its debt: its key
# expires ARGV[4] ms after it would be full again, when forgetting it changes nothing
BUCKET = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, capacity, amount = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1]) or capacity
local stamp = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - stamp) * rate)
local wait = math.max(0, (math.min(amount, capacity) - tokens) / rate)
tokens = math.min(capacity, tokens - amount)
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
local refill_ms = math.ceil((capacity - tokens) / rate * 1000)
redis.call('PEXPIRE', KEYS[1], refill_ms + tonumber(ARGV[4]))
return tostring(wait)
"""
# take a lease (KEYS[1]) only while no answer is stored under its key (KEYS[2]), in one
# atomic step: 1 taken, 0 held by another, -1 the answer is already there
LEAD = ("if redis.call('exists', KEYS[2]) == 1 then return -1 end "
        "if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end "
        "return 0")
RELEASE = ("if redis.call('get', KEYS[1]) == ARGV[1] then "
            "return redis.call('del', KEYS[1]) else return 0 end")
# take from every bucket only when each holds what it needs (all or nothing): KEYS are the
# buckets, ARGV four numbers a bucket (rate a second, capacity, tokens needed, tokens taken)
# then the expiry in ms; returns {0, "0"} when taken, else {the short bucket's 1-based
# index, the seconds until it holds what it needs}; a key is kept the last number of ms after
# its bucket would be full again
ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local levels, short, wait = {}, 0, 0
for i = 1, #KEYS do
  local rate, capacity = tonumber(ARGV[4 * i - 3]), tonumber(ARGV[4 * i - 2])
  local need = tonumber(ARGV[4 * i - 1])
  local state = redis.call('HMGET', KEYS[i], 'tokens', 'stamp')
  local tokens = tonumber(state[1]) or capacity
  local stamp = tonumber(state[2]) or now
  tokens = math.min(capacity, tokens + math.max(0, now - stamp) * rate)
  levels[i] = tokens
  if tokens < need and (need - tokens) / rate > wait then
    short, wait = i, (need - tokens) / rate
  end
end
if short > 0 then
  return {short, tostring(wait)}
end
for i = 1, #KEYS do
  local rate, capacity = tonumber(ARGV[4 * i - 3]), tonumber(ARGV[4 * i - 2])
  local left = levels[i] - tonumber(ARGV[4 * i])
  redis.call('HSET', KEYS[i], 'tokens', tostring(left), 'stamp', tostring(now))
  local refill_ms = math.ceil((capacity - left) / rate * 1000)
  redis.call('PEXPIRE', KEYS[i], refill_ms + tonumber(ARGV[4 * #KEYS + 1]))
end
return {0, '0'}
"""
