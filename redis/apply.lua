-- Applies one worker batch atomically and at most once.
-- KEYS: hashes, wallet, applied:<worker>
-- ARGV: seq, hashes, bucket ttl, coin count, speed key prefix, then coin pairs (hash, bytes),
--       then second pairs (unix second, loops)
local applied = tonumber(redis.call('GET', KEYS[3]) or '0')
local seq = tonumber(ARGV[1])
if seq <= applied then
  return 0
end
redis.call('SET', KEYS[3], ARGV[1], 'EX', 86400)
redis.call('INCRBY', KEYS[1], ARGV[2])
local i = 6
for _ = 1, tonumber(ARGV[4]) do
  redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[i + 1])
  i = i + 2
end
while i < #ARGV do
  local key = ARGV[5] .. ARGV[i]
  redis.call('INCRBY', key, ARGV[i + 1])
  redis.call('EXPIRE', key, ARGV[3])
  i = i + 2
end
return 1
