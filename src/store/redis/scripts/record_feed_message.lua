-- Keep a message from the EPR feed and its answer under its sender and
-- MSH-10, over any kept before (a message refused and sent again), and
-- list it by when it came: members "<20-digit arrival number>" so that
-- messages of one millisecond keep their order.
local function record_feed_message(sender_and_id, at, data)
    local k = key("feed", "m", sender_and_id)
    local before = redis.call("HGET", k, "member")
    if before then
        redis.call("ZREM", key("feed", "by-time"), before)
    end
    local member = padded(redis.call("INCR", key("feed", "seq"))) .. "|" .. sender_and_id
    redis.call("HSET", k, "data", data, "member", member)
    redis.call("ZADD", key("feed", "by-time"), at, member)
    return 1
end

return record_feed_message(unpack(ARGV))
