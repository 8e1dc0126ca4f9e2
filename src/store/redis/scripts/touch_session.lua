-- Note a session's use at `at` (never moving it back).
local function touch_session(hash, at)
    local k = key("session", hash)
    local seen = redis.call("HGET", k, "seen")
    if seen and tonumber(seen) < tonumber(at) then
        redis.call("HSET", k, "seen", at)
    end
    return "ok"
end

return touch_session(unpack(ARGV))
