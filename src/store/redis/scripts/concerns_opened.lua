-- A service's concerns opened from `min` to before `max` (ZRANGEBYLEX
-- form), oldest first, each as {data, version, {timeline entries}}.
local function concerns_opened(service, min, max)
    local out = {}
    for _, member in ipairs(redis.call("ZRANGEBYLEX", key("c", "service", service), min, max)) do
        local id = concern_id_of(member)
        local f = redis.call("HMGET", key("c", id), "data", "v")
        if f[1] then
            table.insert(out, { f[1], f[2], redis.call("LRANGE", key("c", id, "timeline"), 0, -1) })
        end
    end
    return out
end

return concerns_opened(unpack(ARGV))
