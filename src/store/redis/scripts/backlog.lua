-- Work waiting at `now`: {inbound pending, outbox due, timers overdue,
-- outbox retrying, oldest unsent queued_at or ""}.
local function backlog(now)
    local oldest = redis.call("ZRANGE", key("o", "queued"), 0, 0, "WITHSCORES")[2] or ""
    return {
        tostring(redis.call("ZCARD", key("in", "pending"))),
        tostring(redis.call("ZCOUNT", key("o", "unsent"), "-inf", now)),
        tostring(redis.call("ZCOUNT", key("timers"), "-inf", now)),
        tostring(redis.call("SCARD", key("o", "retrying"))),
        oldest,
    }
end

return backlog(unpack(ARGV))
