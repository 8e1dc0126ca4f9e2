-- End an enrolment that is still running at `at`: 1 if it was, 0 if not.
local function end_enrolment(id, at)
    local k = key("e", id)
    local f = redis.call("HMGET", k, "ends", "ended")
    if not f[1] or f[2] or tonumber(f[1]) <= tonumber(at) then
        return 0
    end
    redis.call("HSET", k, "ended", at)
    redis.call("ZADD", key("e", "ends"), at, id)
    return 1
end

return end_enrolment(unpack(ARGV))
