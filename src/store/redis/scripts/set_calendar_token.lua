-- Give `person` the calendar token `hash` (hex), or none when it is "".
local function set_calendar_token(person, hash, at)
    local old = redis.call("HGET", key("cal", "by-person"), person)
    if old then
        redis.call("HDEL", key("cal", "by-hash"), old)
        redis.call("HDEL", key("cal", "by-person"), person)
        redis.call("HDEL", key("cal", "made"), person)
    end
    if hash ~= "" then
        redis.call("HSET", key("cal", "by-hash"), hash, person)
        redis.call("HSET", key("cal", "by-person"), person, hash)
        redis.call("HSET", key("cal", "made"), person, at)
    end
    return "ok"
end

return set_calendar_token(unpack(ARGV))
