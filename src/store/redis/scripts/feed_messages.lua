-- The feed's messages received before `before` ("+inf" for all), newest
-- first, at most `limit`: their JSON.
local function feed_messages(before, limit)
    local out = {}
    local members = redis.call("ZREVRANGEBYSCORE", key("feed", "by-time"), "(" .. before, "-inf", "LIMIT", 0, tonumber(limit))
    for _, member in ipairs(members) do
        local _, sender_and_id = split2(member, "|")
        local data = redis.call("HGET", key("feed", "m", sender_and_id), "data")
        if data then
            table.insert(out, data)
        end
    end
    return out
end

return feed_messages(unpack(ARGV))
