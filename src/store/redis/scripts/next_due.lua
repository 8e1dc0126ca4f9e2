-- The earliest instant at which some work of the kinds named ("timer",
-- "outbox", "inbound") may be there to claim, or nil: for each kind, the
-- due time of the first piece not under a claim, and the first end of a
-- lease on one that is.
local function next_due(...)
    local best = nil
    local function consider(t)
        if t and (not best or tonumber(t) < tonumber(best)) then
            best = t
        end
    end
    local queues = { timer = key("timers"), inbound = key("in", "pending"), notice = key("notices") }
    for _, kind in ipairs({ ... }) do
        if kind == "outbox" then
            -- Scored by when each head may next be claimed (`ready_at`).
            for _, p in ipairs(OUTBOX_PRIORITIES) do
                consider(redis.call("ZRANGE", due_index(p), 0, 0, "WITHSCORES")[2])
            end
        else
            consider(first_unclaimed(queues[kind], kind))
            consider(redis.call("ZRANGE", key("held", kind), 0, 0, "WITHSCORES")[2])
        end
    end
    return best or false
end

return next_due(unpack(ARGV))
