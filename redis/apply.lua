-- Applies one worker batch atomically and at most once.
-- KEYS: hashes, wallet, applied:<worker>, owner:<worker>
-- ARGV: seq, hashes, bucket ttl, coin count, speed key prefix, owner nonce ('' = no lease),
--       lease ms, then coin pairs (hash, bytes), then second pairs (unix second, loops)
--
-- Redis does not roll a script back: a write that ran before an error stays. So every
-- check comes before the first write, and a batch lands whole or not at all. The
-- dedupe check comes first of all, so an error reply also tells the caller that the
-- batch had not been applied when it ran.
local seq = tonumber(ARGV[1])

-- bad(key, want) says why key cannot take the write planned for it, or nil: it must be
-- missing or of type want, and a string must hold an integer (INCRBY would fail on it).
local function bad(key, want)
  local t = redis.call('TYPE', key)['ok']
  if t == 'none' then
    return nil
  end
  if t ~= want then
    return key .. ' is a ' .. t .. ', not a ' .. want
  end
  if want == 'string' then
    local v = redis.call('GET', key)
    if not string.match(v, '^-?%d+$') then
      return key .. ' holds ' .. string.format('%q', string.sub(v, 1, 32)) .. ', not an integer'
    end
  end
  return nil
end

local function reject(why)
  return redis.error_reply('REJECTED batch ' .. ARGV[1] .. ' not applied: ' .. why)
end

local why = bad(KEYS[3], 'string')
if why then
  return reject(why)
end
if seq <= tonumber(redis.call('GET', KEYS[3]) or '0') then
  return 0
end

local owner, lease = ARGV[6], ARGV[7]
if owner ~= '' then
  local t = redis.call('TYPE', KEYS[4])['ok']
  if t ~= 'none' and t ~= 'string' then
    return reject(KEYS[4] .. ' is a ' .. t .. ', not a string')
  end
  local holder = redis.call('GET', KEYS[4])
  if holder and holder ~= owner then
    return redis.error_reply('LEASED ' .. KEYS[4] .. ' is held by another process; batch ' .. ARGV[1] .. ' not applied')
  end
end

why = bad(KEYS[1], 'string') or bad(KEYS[2], 'hash')
if why then
  return reject(why)
end
local first = 8 + 2 * tonumber(ARGV[4])
for i = first, #ARGV - 1, 2 do
  why = bad(ARGV[5] .. ARGV[i], 'string')
  if why then
    return reject(why)
  end
end

-- Checked: from here on nothing can fail.
if owner ~= '' then
  redis.call('SET', KEYS[4], owner, 'PX', lease)
end
redis.call('SET', KEYS[3], ARGV[1], 'EX', 86400)
redis.call('INCRBY', KEYS[1], ARGV[2])
for i = 8, first - 1, 2 do
  redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[i + 1])
end
for i = first, #ARGV - 1, 2 do
  local key = ARGV[5] .. ARGV[i]
  redis.call('INCRBY', key, ARGV[i + 1])
  redis.call('EXPIRE', key, ARGV[3])
end
return 1
