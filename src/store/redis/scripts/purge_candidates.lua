-- Purge, step 1: up to `limit` resolved concerns closed before `cutoff`
-- and not yet purged: {id, version, data, timeline entries...}.
local function purge_candidates(cutoff, limit)
    local out = {}
    for _, id in ipairs(redis.call("ZRANGEBYSCORE", key("c", "to-purge"), "-inf", "(" .. cutoff, "LIMIT", 0, tonumber(limit))) do
        local f = redis.call("HMGET", key("c", id), "v", "data")
        local row = { id, f[1] or "", f[2] or "" }
        for _, entry in ipairs(redis.call("LRANGE", key("c", id, "timeline"), 0, -1)) do
            table.insert(row, entry)
        end
        table.insert(out, row)
    end
    return out
end

return purge_candidates(unpack(ARGV))
