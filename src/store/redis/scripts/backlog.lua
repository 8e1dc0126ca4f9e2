-- Work waiting at `now`: {inbound pending, outbox due, timers overdue,
-- outbox retrying, oldest unsent queued_at or "", then for each priority
-- (urgent, prompt, bulk) the texts due and when the one due longest
-- became due or ""}. An item stored without a priority counts as urgent,
-- as claiming takes it.
local function backlog(now)
    local oldest = redis.call("ZRANGE", key("o", "queued"), 0, 0, "WITHSCORES")[2] or ""
    local due = { 0, 0, 0 }
    local first = { "", "", "" }
    local unsent = redis.call("ZRANGEBYSCORE", key("o", "unsent"), "-inf", now, "WITHSCORES")
    for i = 1, #unsent, 2 do
        local p = math.min(math.max(tonumber(prio_of(unsent[i])) or 0, 0), 2) + 1
        due[p] = due[p] + 1
        if first[p] == "" then
            first[p] = unsent[i + 1]
        end
    end
    return {
        tostring(redis.call("ZCARD", key("in", "pending"))),
        tostring(redis.call("ZCOUNT", key("o", "unsent"), "-inf", now)),
        tostring(redis.call("ZCOUNT", key("timers"), "-inf", now)),
        tostring(redis.call("SCARD", key("o", "retrying"))),
        oldest,
        tostring(due[1]), first[1],
        tostring(due[2]), first[2],
        tostring(due[3]), first[3],
    }
end

return backlog(unpack(ARGV))
