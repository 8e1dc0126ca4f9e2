-- Purge: delete up to `limit` raw inbound items processed before `cutoff`.
local function purge_inbound(cutoff, limit)
    local keys = redis.call("ZRANGEBYSCORE", key("in", "done"), "-inf", "(" .. cutoff, "LIMIT", 0, tonumber(limit))
    for _, k in ipairs(keys) do
        redis.call("DEL", key("in", k))
        redis.call("ZREM", key("in", "done"), k)
    end
    return #keys
end

return purge_inbound(unpack(ARGV))
