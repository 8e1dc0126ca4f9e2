-- Purge, step 2: write back what the caller redacted, for each concern
-- that has not changed since step 1 read it. `concerns` is JSON: a list of
-- {id, version, timeline length, data (redacted, or "" to set the concern
-- aside as unreadable), timeline entries (redacted)}. Returns {purged,
-- set aside}.
local function purge_concerns(placeholder, concerns)
    local purged, aside = 0, 0
    for _, p in ipairs(cjson.decode(concerns)) do
        local id, version, length, data, timeline = p[1], p[2], tonumber(p[3]), p[4], p[5]
        local c = key("c", id)
        local list = key("c", id, "timeline")
        local unchanged = redis.call("ZSCORE", key("c", "to-purge"), id)
            and redis.call("HGET", c, "v") == version
            and redis.call("LLEN", list) == length
        if unchanged then
            if data == "" then
                redis.call("HSET", c, "purged", "2")
                aside = aside + 1
            else
                redis.call("HSET", c, "data", data, "purged", "1")
                redis.call("HINCRBY", c, "v", 1)
                purged = purged + 1
            end
            redis.call("ZREM", key("c", "to-purge"), id)
            for i, entry in ipairs(timeline) do
                redis.call("LSET", list, i - 1, entry)
            end
            -- Every text sent about it may quote the sender.
            for _, o in ipairs(redis.call("SMEMBERS", key("c", id, "outbox"))) do
                if redis.call("EXISTS", key("o", o)) == 1 then
                    redis.call("HSET", key("o", o), "body", placeholder)
                end
            end
        end
    end
    return { purged, aside }
end

return purge_concerns(unpack(ARGV))
