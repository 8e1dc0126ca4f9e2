-- Purge: delete up to `limit` enrolments that ended before `cutoff`, and
-- their numbers.
local function purge_enrolments(cutoff, limit)
    local ids = redis.call("ZRANGEBYSCORE", key("e", "ends"), "-inf", "(" .. cutoff, "LIMIT", 0, tonumber(limit))
    for _, id in ipairs(ids) do
        local phones = redis.call("HGET", key("e", id), "phones") or ""
        local nhs = redis.call("HGET", key("e", id), "nhs")
        if nhs then
            redis.call("SREM", key("nhs", nhs), id)
        end
        for phone in string.gmatch(phones, "[^,]+") do
            redis.call("SREM", key("phone", phone), id)
        end
        redis.call("DEL", key("e", id), key("e", id, "check-ins"))
        redis.call("ZREM", key("e", "ends"), id)
    end
    return #ids
end

return purge_enrolments(unpack(ARGV))
