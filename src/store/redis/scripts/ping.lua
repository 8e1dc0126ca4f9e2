-- For /readyz: a write that must commit, through the same path as the others.
local function ping()
    return redis.call("INCR", key("heartbeat"))
end

return ping(unpack(ARGV))
