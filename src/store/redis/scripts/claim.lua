-- Claim for `node` until `until_` up to `limit` pieces of `kind` work
-- scored up to `last` in their index (their due time; for the outbox, the
-- end of a lease on it if later, see `ready_at`), in its order, passing
-- over those under a claim live at `now`: {work key, token, attempts,
-- claimed before (1 or 0)} each.
local function claim_from(kind, index, last, node, now, until_, limit)
    limit = tonumber(limit)
    local picked = {}
    local offset = 0
    while #picked < limit do
        local members = redis.call("ZRANGEBYSCORE", index, "-inf", last, "LIMIT", offset, 100)
        if #members == 0 then
            break
        end
        for _, member in ipairs(members) do
            local k = work_key_of[kind](member)
            if not held_at(kind, k, now) then
                table.insert(picked, k)
                if #picked == limit then
                    break
                end
            end
        end
        offset = offset + #members
    end
    local out = {}
    for _, k in ipairs(picked) do
        local before = redis.call("EXISTS", claim_key(kind, k))
        local granted = grant(kind, k, node, until_)
        rescore(kind, k)
        table.insert(out, { k, granted[1], granted[2], tostring(before) })
    end
    return out
end

-- What each kind of work is claimed from: its index (see `claim`), whether
-- it is due once stored rather than at its score, and what a claimed row
-- carries after {work key, token, attempts, claimed before}.
local claimable = {
    -- Unprocessed inbound items, oldest first (all of them: an item is due
    -- once it is stored, whatever the clock of the node that stored it
    -- said); the item's JSON.
    inbound = {
        index = { "in", "pending" },
        once_stored = true,
        tail = function(k)
            return { redis.call("HGET", key("in", k), "data") }
        end,
    },
    -- Due timers, earliest first; the timer's stamp.
    timer = {
        index = { "timers" },
        tail = function(k)
            local concern, kind = split2(k, "/")
            return { redis.call("HGET", key("c", concern, "timers"), kind) }
        end,
    },
    -- Due notices, earliest first (docs/adr/0017); the notice's JSON.
    notice = {
        index = { "notices" },
        tail = function(k)
            return { redis.call("HGET", key("notice"), k) }
        end,
    },
    -- Due texts at the head of their lane, number and concern (claimed or
    -- not, an earlier unsent text holds the next back), the most urgent
    -- first and then the oldest (one index per priority, see `due_index`);
    -- the item's fields and values.
    outbox = {
        indexes = { due_index("0"), due_index("1"), due_index("2") },
        tail = function(k)
            return redis.call("HGETALL", key("o", k))
        end,
    },
}

-- Claim for `node` until `until_` up to `limit` pieces of `kind` work
-- claimable at `now` (see `claimable`): a row each.
local function claim(kind, node, now, until_, limit)
    local work = claimable[kind]
    if not work then
        return redis.error_reply("INVALID no such kind of work: " .. kind)
    end
    local last = now
    if work.once_stored then
        last = "+inf"
    end
    local out = {}
    for _, index in ipairs(work.indexes or { key(unpack(work.index)) }) do
        if #out >= tonumber(limit) then
            break
        end
        for _, row in ipairs(claim_from(kind, index, last, node, now, until_, tonumber(limit) - #out)) do
            table.insert(out, row)
        end
    end
    for _, row in ipairs(out) do
        for _, v in ipairs(work.tail(row[1])) do
            table.insert(row, v)
        end
    end
    return out
end

return claim(unpack(ARGV))
