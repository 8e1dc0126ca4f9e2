-- Unsent outbox items stored before priorities (ADR 31) get one, and the
-- lanes' heads move from the old single index "o:due" to the index of
-- their priority. ARGV: purpose, rank pairs, as Rust's `Priority::of`
-- gives them (the rule is not written here). Once done, a marker says so
-- and this does nothing. The outbox waiting to be sent is small (what
-- was unsent when the old version stopped), so this is one script.
local function order_outbox(...)
    local done = key("meta", "outbox-priority")
    if redis.call("EXISTS", done) == 1 then
        return 0
    end
    local rank = {}
    local pairs_ = { ... }
    for i = 1, #pairs_, 2 do
        rank[pairs_[i]] = pairs_[i + 1]
    end
    local ordered = 0
    for _, id in ipairs(redis.call("ZRANGE", key("o", "unsent"), 0, -1)) do
        local item = key("o", id)
        if not redis.call("HGET", item, "prio") then
            redis.call("HSET", item, "prio", rank[redis.call("HGET", item, "purpose")] or "0")
            ordered = ordered + 1
        end
    end
    -- Each lane's earlier texts as urgent as its later ones, then its head
    -- in the index of its priority.
    local heads = redis.call("HKEYS", key("o", "head"))
    for _, lane in ipairs(heads) do
        local queue = redis.call("ZRANGE", key("o", "lane", lane), 0, -1)
        local least = nil
        for i = #queue, 1, -1 do
            local p = tonumber(prio_of(queue[i]))
            if least and least < p then
                redis.call("HSET", key("o", queue[i]), "prio", tostring(least))
            else
                least = p
            end
        end
        fix_queue(lane)
    end
    redis.call("DEL", key("o", "due"))
    redis.call("SET", done, "1")
    return ordered
end

return order_outbox(unpack(ARGV))
