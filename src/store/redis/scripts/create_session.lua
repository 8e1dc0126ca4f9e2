-- Store a new session under its hash (hex); expired ones go.
local function create_session(hash, person, method, created, seen, expires)
    expire("session", created)
    local k = key("session", hash)
    if redis.call("EXISTS", k) == 1 then
        return redis.error_reply("INVALID a session with this hash is stored already")
    end
    redis.call("HSET", k, "person", person, "method", method, "created", created, "seen", seen, "expires", expires)
    redis.call("ZADD", key("session", "ends"), expires, hash)
    return "ok"
end

return create_session(unpack(ARGV))
