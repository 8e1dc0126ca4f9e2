-- Store a sign-in code waiting under its challenge (hex); codes that
-- expired a day before this one's expiry go.
local function put_sign_in_code(challenge, person, code, method, expires_at, kept)
    expire("signin", tostring(tonumber(expires_at) - tonumber(kept)))
    local k = key("signin", challenge)
    redis.call("DEL", k)
    redis.call("HSET", k, "person", person, "code", code, "method", method, "expires", expires_at, "attempts", 0)
    redis.call("ZADD", key("signin", "ends"), expires_at, challenge)
    return "ok"
end

return put_sign_in_code(unpack(ARGV))
