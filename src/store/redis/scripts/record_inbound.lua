-- Record an inbound item unless its key was seen: 1 if new, 0 if not.
local function record_inbound(k, data, received_at)
    local item = key("in", k)
    if redis.call("EXISTS", item) == 1 then
        return 0
    end
    local seq = string.format("%016d", redis.call("INCR", key("in", "seq")))
    redis.call("HSET", item, "data", data, "seq", seq)
    redis.call("ZADD", key("in", "pending"), received_at, seq .. "|" .. k)
    return 1
end

return record_inbound(unpack(ARGV))
