-- Apply one Change atomically (see `apply_change` in the SQLite store for
-- the same steps in SQL, in the same order).
--
-- ARGV[1]: the change as JSON (see `Plan` in redis.rs). Optional parts are
-- left out rather than written as null.
-- Returns "ok", or an error before anything is written.

local plan = cjson.decode(ARGV[1])
local at = plan.at

-- Check first: Redis does not undo a script's writes when it fails later.
if plan.enrolment and redis.call("EXISTS", key("e", plan.enrolment.id)) == 1 then
    return redis.error_reply("an enrolment with this id is already stored")
end
local provider_ids = {}
for _, o in ipairs(plan.outcomes or {}) do
    if o.provider then
        local holder = redis.call("HGET", key("o", "provider"), o.provider)
        if (holder and holder ~= o.id) or (provider_ids[o.provider] and provider_ids[o.provider] ~= o.id) then
            return redis.error_reply("this provider id is already recorded for another text")
        end
        provider_ids[o.provider] = o.id
    end
end

local e = plan.enrolment
if e then
    redis.call("HSET", key("e", e.id), "data", e.data, "ends", e.ends, "phones", table.concat(e.phones, ","))
    redis.call("ZADD", key("e", "ends"), e.ends, e.id)
    for _, phone in ipairs(e.phones) do
        redis.call("SADD", key("phone", phone), e.id)
    end
end

local c = plan.concern
if c then
    local k = key("c", c.id)
    local member, sender, closed, purged
    if redis.call("EXISTS", k) == 1 then
        -- As in SQLite: who sent it, when, and where it is routed stay as
        -- first stored; its state and document change.
        local f = redis.call("HMGET", k, "opened", "sender", "closed", "purged")
        member, sender, closed, purged = f[1] .. ":" .. c.id, f[2], f[3], f[4]
    else
        member, sender, closed, purged = c.opened .. ":" .. c.id, c.sender, false, "0"
        redis.call("HSET", k, "opened", c.opened, "sender", c.sender, "purged", "0")
        if c.service then
            redis.call("HSET", k, "service", c.service)
        end
        redis.call("ZADD", key("c", "all"), 0, member)
        if c.enrolment then
            redis.call("HSET", k, "enrolment", c.enrolment)
            redis.call("ZADD", key("c", "enrolment", c.enrolment), 0, member)
        end
    end
    redis.call("HSET", k, "data", c.data, "status", c.status)
    redis.call("HINCRBY", k, "v", 1)
    if c.resolved then
        closed = closed or at
        redis.call("HSET", k, "closed", closed)
        redis.call("ZREM", key("c", "unresolved"), member)
        redis.call("ZREM", key("c", "from", sender), member)
        if purged ~= "1" then
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

for _, id in ipairs(plan.cancel_timers or {}) do
    local timers = key("c", id, "timers")
    for _, kind in ipairs(redis.call("HKEYS", timers)) do
        redis.call("ZREM", key("timers"), id .. "|" .. kind)
    end
    redis.call("DEL", timers)
end

local fired = plan.fired_timer
if fired then
    local timers = key("c", fired.concern, "timers")
    if redis.call("HGET", timers, fired.kind) == fired.stamp then
        redis.call("HDEL", timers, fired.kind)
        redis.call("ZREM", key("timers"), fired.concern .. "|" .. fired.kind)
    end
end

for _, t in ipairs(plan.set_timers or {}) do
    redis.call("HSET", key("c", t.concern, "timers"), t.kind, t.stamp)
    redis.call("ZADD", key("timers"), t.due, t.concern .. "|" .. t.kind)
end

-- A page: "code|open|opened_at|closed_at" in the clinician's hash, and the
-- concern in their open or closed set.
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
end

for _, m in ipairs(plan.outbox or {}) do
    local id = tostring(redis.call("INCR", key("o", "id")))
    local item = key("o", id)
    redis.call("HSET", item, "to", m.to, "body", m.body, "purpose", m.purpose, "recipient", m.recipient,
        "attempts", "0", "due", at, "queued", at, "state", "pending")
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

for _, id in ipairs(plan.in_flight or {}) do
    local item = key("o", id)
    if redis.call("HGET", item, "state") == "pending" then
        redis.call("HSET", item, "state", "in_flight")
    end
end

for _, o in ipairs(plan.outcomes or {}) do
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

if plan.inbound_done then
    local item = key("in", plan.inbound_done)
    local seq = redis.call("HGET", item, "seq")
    if seq then
        redis.call("HSET", item, "done", at)
        redis.call("ZREM", key("in", "pending"), seq .. "|" .. plan.inbound_done)
        redis.call("ZADD", key("in", "done"), at, plan.inbound_done)
    end
end

if plan.opt_out then
    redis.call("HSET", key("opt-out"), plan.opt_out[1], plan.opt_out[2])
end

return "ok"
