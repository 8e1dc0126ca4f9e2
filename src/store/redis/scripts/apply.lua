-- Apply one Change atomically: the same checks and steps, in the same
-- order, as `apply_change` in the SQLite store.
--
-- ARGV[1]: the change as JSON (see `Plan` in plan.rs). Optional parts are
-- left out rather than written as null.
-- Returns "ok"; or, before anything is written, an error whose first word
-- says what kind: CONFLICT (someone else changed it first) or INVALID (this
-- write can never succeed).

local plan = cjson.decode(ARGV[1])
local at = plan.at
local claim = plan.claim

-- Check everything first: Redis does not undo a script's writes when it
-- fails half way.
if claim then
    local held = redis.call("HMGET", claim_key(claim.kind, claim.key), "token", "holder", "until")
    if not held[1] or held[3] == "" then
        return redis.error_reply("CONFLICT " .. claim.kind .. " " .. claim.key
            .. " is no longer claimed with token " .. claim.token .. " (completed or released)")
    end
    if held[1] ~= claim.token then
        return redis.error_reply("CONFLICT " .. claim.kind .. " " .. claim.key .. " is now claimed by "
            .. held[2] .. " with token " .. held[1] .. ", not " .. claim.token)
    end
    if claim.kind == "outbox" then
        local told = false
        for _, o in ipairs(plan.outcomes or {}) do
            told = told or o.id == claim.key
        end
        if not told then
            return redis.error_reply("INVALID the change completes outbox item " .. claim.key
                .. " but writes no outcome for it")
        end
    end
end
if plan.enrolment and redis.call("EXISTS", key("e", plan.enrolment.id)) == 1 then
    return redis.error_reply("INVALID enrolment " .. plan.enrolment.id .. " is stored already")
end
local c = plan.concern
if c then
    local k = key("c", c.id)
    if c.version == "0" then
        if redis.call("EXISTS", k) == 1 then
            return redis.error_reply("CONFLICT concern " .. c.id .. " was stored already")
        end
        local open = redis.call("ZRANGE", key("c", "from", c.sender), 0, 0)[1]
        if not c.resolved and open then
            return redis.error_reply("CONFLICT the sender of new concern " .. c.id .. " has concern "
                .. concern_id_of(open) .. " unresolved")
        end
    elseif redis.call("HGET", k, "v") ~= c.version then
        return redis.error_reply("CONFLICT concern " .. c.id .. " changed since version " .. c.version
            .. " was read (or is gone)")
    end
end
local provider_ids = {}
for _, o in ipairs(plan.outcomes or {}) do
    if o.provider then
        local holder = redis.call("HGET", key("o", "provider"), o.provider)
        if (holder and holder ~= o.id) or (provider_ids[o.provider] and provider_ids[o.provider] ~= o.id) then
            return redis.error_reply("INVALID this provider id is recorded for another text already")
        end
        provider_ids[o.provider] = o.id
    end
end

-- Now write.
local e = plan.enrolment
if e then
    redis.call("HSET", key("e", e.id), "data", e.data, "ends", e.ends, "phones", table.concat(e.phones, ","))
    if e.client then
        redis.call("HSET", key("e", e.id), "client", e.client)
    end
    if e.nhs then
        redis.call("HSET", key("e", e.id), "nhs", e.nhs)
        redis.call("SADD", key("nhs", e.nhs), e.id)
    end
    redis.call("ZADD", key("e", "ends"), e.ends, e.id)
    for _, phone in ipairs(e.phones) do
        redis.call("SADD", key("phone", phone), e.id)
    end
end

if c then
    local k = key("c", c.id)
    local member, sender, closed, purged
    if c.version == "0" then
        member, sender, closed, purged = c.opened .. ":" .. c.id, c.sender, false, "0"
        redis.call("HSET", k, "opened", c.opened, "sender", c.sender, "purged", "0", "v", "1")
        if c.service then
            redis.call("HSET", k, "service", c.service)
            redis.call("ZADD", key("c", "service", c.service), 0, member)
        end
        redis.call("ZADD", key("c", "all"), 0, member)
        if c.enrolment then
            redis.call("HSET", k, "enrolment", c.enrolment)
            redis.call("ZADD", key("c", "enrolment", c.enrolment), 0, member)
        end
    else
        -- As in SQLite: who sent it, when, and where it is routed stay as
        -- first stored; its state and its document change.
        local f = redis.call("HMGET", k, "opened", "sender", "closed", "purged")
        member, sender, closed, purged = f[1] .. ":" .. c.id, f[2], f[3], f[4]
        redis.call("HINCRBY", k, "v", 1)
    end
    redis.call("HSET", k, "data", c.data, "status", c.status)
    if c.resolved then
        closed = closed or at
        redis.call("HSET", k, "closed", closed)
        redis.call("ZREM", key("c", "unresolved"), member)
        redis.call("ZREM", key("c", "from", sender), member)
        if purged == "0" then
            redis.call("ZADD", key("c", "to-purge"), closed, c.id)
        end
    else
        redis.call("HDEL", k, "closed")
        redis.call("ZADD", key("c", "unresolved"), 0, member)
        redis.call("ZADD", key("c", "from", sender), 0, member)
        redis.call("ZREM", key("c", "to-purge"), c.id)
    end
end

for _, entry in ipairs(plan.timeline or {}) do
    redis.call("RPUSH", key("c", entry[1], "timeline"), entry[2])
end

-- Timers: "c:ID:timers" holds kind -> "DUE:SEQ"; "timers" holds every
-- timer as "CONCERN/KIND" by due time. A timer removed or replaced is
-- other work than the one claimed: its claim goes with it.
local function remove_timer(concern, kind)
    redis.call("HDEL", key("c", concern, "timers"), kind)
    redis.call("ZREM", key("timers"), concern .. "/" .. kind)
end

for _, id in ipairs(plan.cancel_timers or {}) do
    for _, kind in ipairs(redis.call("HKEYS", key("c", id, "timers"))) do
        remove_timer(id, kind)
        end_claim("timer", id .. "/" .. kind)
    end
end

if claim and claim.kind == "timer" then
    local concern, kind = split2(claim.key, "/")
    remove_timer(concern, kind)
end

for _, t in ipairs(plan.set_timers or {}) do
    redis.call("HSET", key("c", t.concern, "timers"), t.kind, t.stamp)
    redis.call("ZADD", key("timers"), t.due, t.concern .. "/" .. t.kind)
    end_claim("timer", t.concern .. "/" .. t.kind)
end

-- Pages close with their concern, and so do its code reservations (into
-- quarantine: the code stays taken for a while).
for _, id in ipairs(plan.close_pages or {}) do
    for _, staff in ipairs(redis.call("SMEMBERS", key("c", id, "staff"))) do
        local pages = key("pg", staff)
        local page = redis.call("HGET", pages, id)
        if page then
            local code, rest = split2(page, "|")
            local open, rest2 = split2(rest, "|")
            local opened = split2(rest2, "|")
            if open == "1" then
                redis.call("HSET", pages, id, code .. "|0|" .. opened .. "|" .. at)
                redis.call("ZREM", key("pg", staff, "open"), id)
                redis.call("ZADD", key("pg", staff, "closed"), at, id)
            end
        end
    end
    for _, staff in ipairs(redis.call("SMEMBERS", key("c", id, "reserved"))) do
        local reservation = redis.call("HGET", key("rsv", staff), id)
        if reservation then
            local code, closed = split2(reservation, "|")
            if closed == "" then
                redis.call("HSET", key("rsv", staff), id, code .. "|" .. at)
            end
        end
    end
end

for _, p in ipairs(plan.open_pages or {}) do
    local pages = key("pg", p.staff)
    local page = redis.call("HGET", pages, p.concern)
    local code, opened = p.code, p.opened
    if page then
        -- Re-sent: it keeps its code and when it was first sent.
        local rest
        code, rest = split2(page, "|")
        local _, rest2 = split2(rest, "|")
        opened = split2(rest2, "|")
    end
    redis.call("HSET", pages, p.concern, code .. "|1|" .. opened .. "|")
    redis.call("ZREM", key("pg", p.staff, "closed"), p.concern)
    redis.call("ZADD", key("pg", p.staff, "open"), opened, p.concern)
    redis.call("SADD", key("c", p.concern, "staff"), p.staff)
    redis.call("HSET", key("last-code"), p.staff, p.code)
    -- The page holds the code from now on.
    redis.call("HDEL", key("rsv", p.staff), p.concern)
    redis.call("SREM", key("c", p.concern, "reserved"), p.staff)
end

for _, m in ipairs(plan.outbox or {}) do
    local id = tostring(redis.call("INCR", key("o", "id")))
    local item = key("o", id)
    redis.call("HSET", item, "to", m.to, "body", m.body, "purpose", m.purpose, "recipient", m.recipient,
        "attempts", "0", "due", at, "queued", at, "state", "pending", "prio", m.prio)
    if m.concern then
        redis.call("HSET", item, "concern", m.concern)
        redis.call("SADD", key("c", m.concern, "outbox"), id)
    end
    if m.staff then
        redis.call("HSET", item, "staff", m.staff)
    end
    if m.step then
        redis.call("HSET", item, "step", m.step)
    end
    index_outbox(id)
end

for _, o in ipairs(plan.outcomes or {}) do
    -- The claim ends first, so that a text sent back to wait for a retry
    -- is due when the retry is, not when the lease would have ended.
    end_claim("outbox", o.id)
    local item = key("o", o.id)
    if redis.call("EXISTS", item) == 1 then
        if o.outcome == "sent" then
            local old = redis.call("HGET", item, "provider")
            if old and old ~= o.provider then
                redis.call("HDEL", key("o", "provider"), old)
            end
            redis.call("HSET", item, "state", "sent", "provider", o.provider)
            redis.call("HSET", key("o", "provider"), o.provider, o.id)
            redis.call("HINCRBY", item, "attempts", 1)
        elseif o.outcome == "retry" then
            redis.call("HSET", item, "state", "pending", "due", o.at)
            redis.call("HINCRBY", item, "attempts", 1)
        elseif o.outcome == "failed" then
            redis.call("HSET", item, "state", "failed")
            redis.call("HINCRBY", item, "attempts", 1)
        else
            redis.call("HSET", item, "state", "cancelled")
        end
        index_outbox(o.id)
    end
end

-- The inbound item processed: the claimed one.
if claim and claim.kind == "inbound" then
    local k = claim.key
    local item = key("in", k)
    local f = redis.call("HMGET", item, "seq", "done")
    if f[1] and not f[2] then
        redis.call("HSET", item, "done", at)
        redis.call("ZREM", key("in", "pending"), f[1] .. "|" .. k)
        redis.call("ZADD", key("in", "done"), at, k)
    end
    end_claim("inbound", k)
end
-- What is kept of it: without the words now on a concern's timeline.
if plan.inbound_kept then
    local item = key("in", plan.inbound_kept[1])
    if redis.call("EXISTS", item) == 1 then
        redis.call("HSET", item, "data", plan.inbound_kept[2])
    end
end

if plan.opt_out then
    redis.call("HSET", key("opt-out"), plan.opt_out[1], plan.opt_out[2])
end

-- Notices (docs/adr/0017): "notice" holds key -> JSON, "notices" every key
-- by due time. A notice removed or replaced is other work than the one
-- claimed: its claim goes with it.
local function remove_notice(k)
    redis.call("HDEL", key("notice"), k)
    redis.call("ZREM", key("notices"), k)
end
for _, k in ipairs(plan.cancel_notices or {}) do
    remove_notice(k)
    end_claim("notice", k)
end
if claim and claim.kind == "notice" then
    remove_notice(claim.key)
end
for _, n in ipairs(plan.set_notices or {}) do
    redis.call("HSET", key("notice"), n.key, n.data)
    redis.call("ZADD", key("notices"), n.due, n.key)
    end_claim("notice", n.key)
end
for _, n in ipairs(plan.add_notices or {}) do
    if redis.call("HSETNX", key("notice"), n.key, n.data) == 1 then
        redis.call("ZADD", key("notices"), n.due, n.key)
    end
end
for _, a in ipairs(plan.check_in_answers or {}) do
    redis.call("RPUSH", key("e", a.enrolment, "check-ins"), a.data)
end

if claim then
    end_claim(claim.kind, claim.key)
end

return "ok"
