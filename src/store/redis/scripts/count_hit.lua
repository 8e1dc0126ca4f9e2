-- Count a hit on `bucket` in the window starting at `start` and ending at
-- `end_`; the count so far.
local function count_hit(bucket, start, end_, now)
    expire("hits", now)
    local member = bucket .. "|" .. start
    local n = redis.call("HINCRBY", key("hits", member), "n", 1)
    redis.call("ZADD", key("hits", "ends"), end_, member)
    return n
end

return count_hit(unpack(ARGV))
