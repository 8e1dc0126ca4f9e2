-- Reads that take more than one command, each as one consistent snapshot
-- and one round trip. ARGV[1] names the read; the rest are its arguments.

local reads = {}

-- Active enrolments with this number: their JSON.
function reads.enrolments_for_phone(phone, now)
    local out = {}
    for _, id in ipairs(redis.call("SMEMBERS", key("phone", phone))) do
        local f = redis.call("HMGET", key("e", id), "data", "ends", "ended")
        if f[1] and not f[3] and tonumber(f[2]) > tonumber(now) then
            table.insert(out, f[1])
        end
    end
    return out
end

-- A concern as {data, version}, or nil.
function reads.concern(id)
    local f = redis.call("HMGET", key("c", id), "data", "v")
    if not f[1] then
        return false
    end
    return f
end

-- The newest unresolved concern from this number, as `concern` returns it.
function reads.open_concern_from(sender)
    local newest = redis.call("ZREVRANGEBYLEX", key("c", "from", sender), "+", "-", "LIMIT", 0, 1)[1]
    if not newest then
        return false
    end
    return reads.concern(concern_id_of(newest))
end

-- Concerns newest first from one list index, below `max` and from `min`
-- (in ZREVRANGEBYLEX form), whose status is one of `statuses` (comma
-- separated, empty for any), whose service is `service` (empty for any)
-- and whose enrolment was made by API client `client` (empty for any); at
-- most `limit`, each as {data, version}. Walks the index as SQLite
-- walks its index, but looks at no more than `budget` entries, so that a
-- rare match in a long list does not hold Redis up for every other client:
-- returns {rows, where to go on from ("" when the walk is done)}.
function reads.concerns(index, max, min, limit, statuses, service, client, budget)
    limit, budget = tonumber(limit), tonumber(budget)
    local wanted = nil
    if statuses ~= "" then
        wanted = {}
        for s in string.gmatch(statuses, "[^,]+") do
            wanted[s] = true
        end
    end
    local out = {}
    local looked = 0
    while #out < limit do
        if looked >= budget then
            return { out, max }
        end
        local members = redis.call("ZREVRANGEBYLEX", P .. index, max, min, "LIMIT", 0, 100)
        if #members == 0 then
            break
        end
        for _, member in ipairs(members) do
            looked = looked + 1
            max = "(" .. member
            local f = redis.call("HMGET", key("c", concern_id_of(member)), "status", "service", "data", "v", "enrolment")
            if f[3] and (not wanted or wanted[f[1]]) and (service == "" or f[2] == service)
                and (client == "" or (f[5] and redis.call("HGET", key("e", f[5]), "client") == client)) then
                table.insert(out, { f[3], f[4] })
                if #out == limit then
                    break
                end
            end
        end
    end
    return { out, "" }
end

-- A service's concerns opened from `min` to before `max` (ZRANGEBYLEX
-- form), oldest first, each as {data, version, {timeline entries}}.
function reads.concerns_opened(service, min, max)
    local out = {}
    for _, member in ipairs(redis.call("ZRANGEBYLEX", key("c", "service", service), min, max)) do
        local id = concern_id_of(member)
        local f = redis.call("HMGET", key("c", id), "data", "v")
        if f[1] then
            table.insert(out, { f[1], f[2], redis.call("LRANGE", key("c", id, "timeline"), 0, -1) })
        end
    end
    return out
end

-- Work waiting at `now`: {inbound pending, outbox due, timers overdue,
-- outbox retrying, oldest unsent queued_at or ""}.
function reads.backlog(now)
    local oldest = redis.call("ZRANGE", key("o", "queued"), 0, 0, "WITHSCORES")[2] or ""
    return {
        tostring(redis.call("ZCARD", key("in", "pending"))),
        tostring(redis.call("ZCOUNT", key("o", "unsent"), "-inf", now)),
        tostring(redis.call("ZCOUNT", key("timers"), "-inf", now)),
        tostring(redis.call("SCARD", key("o", "retrying"))),
        oldest,
    }
end

local function outbox_item(id)
    local fields = redis.call("HGETALL", key("o", id))
    if #fields == 0 then
        return nil
    end
    table.insert(fields, 1, "id")
    table.insert(fields, 2, id)
    return fields
end

-- The outbox item the provider knows by this id, or nil.
function reads.outbox_by_provider_id(provider)
    local id = redis.call("HGET", key("o", "provider"), provider)
    if not id then
        return false
    end
    return outbox_item(id) or false
end

-- The earliest instant at which some work of the kinds named ("timer",
-- "outbox", "inbound") may be there to claim, or nil: for each kind, the
-- due time of the first piece not under a claim, and the first end of a
-- lease on one that is.
function reads.next_due(...)
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
            consider(redis.call("ZRANGE", key("o", "due"), 0, 0, "WITHSCORES")[2])
        else
            consider(first_unclaimed(queues[kind], kind))
            consider(redis.call("ZRANGE", key("held", kind), 0, 0, "WITHSCORES")[2])
        end
    end
    return best or false
end

-- A clinician's open pages and those closed since `since`: {concern, page}.
function reads.pages_for(staff, since)
    return recent_pages(staff, since)
end

-- Purge, step 1: up to `limit` resolved concerns closed before `cutoff`
-- and not yet purged: {id, version, data, timeline entries...}.
function reads.purge_candidates(cutoff, limit)
    local out = {}
    for _, id in ipairs(redis.call("ZRANGEBYSCORE", key("c", "to-purge"), "-inf", "(" .. cutoff, "LIMIT", 0, tonumber(limit))) do
        local f = redis.call("HMGET", key("c", id), "v", "data")
        local row = { id, f[1] or "", f[2] or "" }
        for _, entry in ipairs(redis.call("LRANGE", key("c", id, "timeline"), 0, -1)) do
            table.insert(row, entry)
        end
        table.insert(out, row)
    end
    return out
end

-- API keys, each as {hash, name, created, grant or "", revoked or ""}:
-- the one with this hash (hex), or every one when `hash` is "". A key
-- stored before keys had grants has none (`store::codec::api_key_as_stored`).
function reads.api_keys(hash)
    local hashes = { hash }
    if hash == "" then
        hashes = redis.call("HKEYS", key("api-key"))
    end
    local out = {}
    for _, h in ipairs(hashes) do
        local name = redis.call("HGET", key("api-key"), h)
        if name then
            table.insert(out, {
                h,
                name,
                redis.call("HGET", key("api-key", "created"), h) or "0",
                redis.call("HGET", key("api-key", "grant"), h) or "",
                redis.call("HGET", key("api-key", "revoked"), h) or "",
            })
        end
    end
    return out
end

-- Every rota edit, in order: {id, data, undone or ""} each.
function reads.rota_edits()
    local out = {}
    for _, id in ipairs(redis.call("LRANGE", key("rota-edit", "ids"), 0, -1)) do
        local f = redis.call("HMGET", key("rota-edit", id), "data", "undone")
        table.insert(out, { id, f[1], f[2] or "" })
    end
    return out
end

local read = reads[ARGV[1]]
if not read then
    return redis.error_reply("no such read")
end
return read(unpack(ARGV, 2))
