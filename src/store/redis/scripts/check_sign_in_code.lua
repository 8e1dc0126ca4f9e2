-- Try a code (hex) against a challenge at `now`: {"ok", person, method,
-- expires}, {"wrong", tries left, person}, or {"gone"}.
local function check_sign_in_code(challenge, code, now, max_attempts)
    local k = key("signin", challenge)
    local f = redis.call("HMGET", k, "person", "code", "method", "expires", "attempts")
    if not f[1] then
        return { "gone" }
    end
    local attempts = tonumber(f[5])
    local gone = function()
        redis.call("DEL", k)
        redis.call("ZREM", key("signin", "ends"), challenge)
    end
    if tonumber(f[4]) <= tonumber(now) or attempts >= tonumber(max_attempts) then
        gone()
        return { "gone" }
    end
    if f[2] ~= code then
        attempts = attempts + 1
        if attempts >= tonumber(max_attempts) then
            gone()
        else
            redis.call("HSET", k, "attempts", attempts)
        end
        return { "wrong", tostring(tonumber(max_attempts) - attempts), f[1] }
    end
    gone()
    return { "ok", f[1], f[3], f[4] }
end

return check_sign_in_code(unpack(ARGV))
