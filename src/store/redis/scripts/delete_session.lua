local function delete_session(hash)
    redis.call("DEL", key("session", hash))
    redis.call("ZREM", key("session", "ends"), hash)
    return "ok"
end

return delete_session(unpack(ARGV))
