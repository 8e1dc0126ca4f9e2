-- Writes other than a Change, each atomic. ARGV[1] names the write; the
-- rest are its arguments.

local writes = {}

-- Concerns stored before reports read `c:service:SERVICE` join it, `limit`
-- at a time from `after` (ZRANGEBYLEX form) in `c:all`; once done, a marker
-- says so and this does nothing. Returns where to go on from ("" when done).
function writes.index_services(after, limit)
    local done = key("meta", "service-index")
    if redis.call("EXISTS", done) == 1 then
        return ""
    end
    local members = redis.call("ZRANGEBYLEX", key("c", "all"), after, "+", "LIMIT", 0, tonumber(limit))
    for _, member in ipairs(members) do
        local service = redis.call("HGET", key("c", concern_id_of(member)), "service")
        if service then
            redis.call("ZADD", key("c", "service", service), 0, member)
        end
    end
    if #members < tonumber(limit) then
        redis.call("SET", done, "1")
        return ""
    end
    return "(" .. members[#members]
end

-- For /readyz: a write that must commit, through the same path as the others.
function writes.ping()
    return redis.call("INCR", key("heartbeat"))
end

-- Record an inbound item unless its key was seen: 1 if new, 0 if not.
function writes.record_inbound(k, data, received_at)
    local item = key("in", k)
    if redis.call("EXISTS", item) == 1 then
        return 0
    end
    local seq = string.format("%016d", redis.call("INCR", key("in", "seq")))
    redis.call("HSET", item, "data", data, "seq", seq)
    redis.call("ZADD", key("in", "pending"), received_at, seq .. "|" .. k)
    return 1
end

-- End an enrolment that is still running at `at`: 1 if it was, 0 if not.
function writes.end_enrolment(id, at)
    local k = key("e", id)
    local f = redis.call("HMGET", k, "ends", "ended")
    if not f[1] or f[2] or tonumber(f[1]) <= tonumber(at) then
        return 0
    end
    redis.call("HSET", k, "ended", at)
    redis.call("ZADD", key("e", "ends"), at, id)
    return 1
end

-- Store an API key under its hash (hex): its name, when it was made, and
-- its grant (JSON: client, scopes, expiry); an error if the hash or the
-- name is stored already (a revoked key keeps its name); `revoked` is
-- when it was revoked, or "". A trust has a handful of keys, so the names
-- are looked through, not indexed.
function writes.create_api_key(hash, name, at, grant, revoked)
    if redis.call("HEXISTS", key("api-key"), hash) == 1 then
        return redis.error_reply("INVALID an API key with this hash is stored already")
    end
    for _, stored in ipairs(redis.call("HVALS", key("api-key"))) do
        if stored == name then
            return redis.error_reply("INVALID an API key named " .. name .. " exists already")
        end
    end
    redis.call("HSET", key("api-key"), hash, name)
    redis.call("HSET", key("api-key", "created"), hash, at)
    redis.call("HSET", key("api-key", "grant"), hash, grant)
    if revoked ~= "" then
        redis.call("HSET", key("api-key", "revoked"), hash, revoked)
    end
    return "ok"
end

-- Revoke at `at` every key named `name` not revoked yet: how many were.
function writes.revoke_api_key(name, at)
    local revoked = 0
    local all = redis.call("HGETALL", key("api-key"))
    for i = 1, #all, 2 do
        if all[i + 1] == name and redis.call("HSETNX", key("api-key", "revoked"), all[i], at) == 1 then
            revoked = revoked + 1
        end
    end
    return revoked
end

-- A named secret: the stored one, or `fresh` stored now.
function writes.secret(name, fresh)
    redis.call("HSETNX", key("secret"), name, fresh)
    return redis.call("HGET", key("secret"), name)
end

-- Claim for `node` until `until_` up to `limit` pieces of `kind` work
-- scored up to `last` in their index (their due time; for the outbox, the
-- end of a lease on it if later, see `ready_at`), in its order, passing
-- over those under a claim live at `now`: {work key, token, attempts,
-- claimed before (1 or 0)} each.
local function claim(kind, index, last, node, now, until_, limit)
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
    -- not, an earlier unsent text holds the next back), oldest first; the
    -- item's fields and values.
    outbox = {
        index = { "o", "due" },
        tail = function(k)
            return redis.call("HGETALL", key("o", k))
        end,
    },
}

-- Claim for `node` until `until_` up to `limit` pieces of `kind` work
-- claimable at `now` (see `claimable`): a row each.
function writes.claim(kind, node, now, until_, limit)
    local work = claimable[kind]
    if not work then
        return redis.error_reply("INVALID no such kind of work: " .. kind)
    end
    local last = now
    if work.once_stored then
        last = "+inf"
    end
    local out = claim(kind, key(unpack(work.index)), last, node, now, until_, limit)
    for _, row in ipairs(out) do
        for _, v in ipairs(work.tail(row[1])) do
            table.insert(row, v)
        end
    end
    return out
end

-- Extend to `until_` each claim (JSON [[kind, key, token], ...]) that is
-- still held: not released, its work not completed, not claimed again.
-- Returns the positions (1-based) of those renewed.
function writes.renew(claims, until_)
    local out = {}
    for i, c in ipairs(cjson.decode(claims)) do
        local ck = claim_key(c[1], c[2])
        local f = redis.call("HMGET", ck, "token", "until")
        if f[1] == c[3] and f[2] and f[2] ~= "" then
            redis.call("HSET", ck, "until", until_)
            redis.call("ZADD", key("held", c[1]), until_, c[2])
            rescore(c[1], c[2])
            table.insert(out, i)
        end
    end
    return out
end

-- Give back each claim (as for renew) still held with its token: its work
-- can be claimed again at once.
function writes.release(claims)
    for _, c in ipairs(cjson.decode(claims)) do
        local ck = claim_key(c[1], c[2])
        if redis.call("HGET", ck, "token") == c[3] then
            redis.call("HSET", ck, "until", "")
            redis.call("ZREM", key("held", c[1]), c[2])
            rescore(c[1], c[2])
        end
    end
    return "ok"
end

-- The code `staff` replies with for `concern`: the one already given (on
-- a page, or reserved, which is taken up again if it had been released),
-- or the next after their last code that is not in use since `since`,
-- reserved now. See `Store::reserve_code`.
function writes.reserve_code(concern, staff, since)
    local page = redis.call("HGET", key("pg", staff), concern)
    if page then
        return (split2(page, "|"))
    end
    local reserved = redis.call("HGET", key("rsv", staff), concern)
    if reserved then
        local code = split2(reserved, "|")
        redis.call("HSET", key("rsv", staff), concern, code .. "|")
        return code
    end
    -- Reservations out of quarantine hold nothing any more.
    local all = redis.call("HGETALL", key("rsv", staff))
    for i = 1, #all, 2 do
        local _, closed = split2(all[i + 1], "|")
        if closed ~= "" and tonumber(closed) < tonumber(since) then
            redis.call("HDEL", key("rsv", staff), all[i])
            redis.call("SREM", key("c", all[i], "reserved"), staff)
        end
    end
    local used = codes_in_use(staff, since)
    local last = tonumber(redis.call("HGET", key("last-code"), staff) or "0")
    -- 9,999 codes in use for one person: reuse one rather than fail to page.
    local code = last % 9999 + 1
    for i = 1, 9999 do
        local candidate = (last + i - 1) % 9999 + 1
        if not used[candidate] then
            code = candidate
            break
        end
    end
    redis.call("HSET", key("rsv", staff), concern, code .. "|")
    redis.call("SADD", key("c", concern, "reserved"), staff)
    redis.call("HSET", key("last-code"), staff, code)
    return tostring(code)
end

-- Purge, step 2: write back what the caller redacted, for each concern
-- that has not changed since step 1 read it. `concerns` is JSON: a list of
-- {id, version, timeline length, data (redacted, or "" to set the concern
-- aside as unreadable), timeline entries (redacted)}. Returns {purged,
-- set aside}.
function writes.purge_concerns(placeholder, concerns)
    local purged, aside = 0, 0
    for _, p in ipairs(cjson.decode(concerns)) do
        local id, version, length, data, timeline = p[1], p[2], tonumber(p[3]), p[4], p[5]
        local c = key("c", id)
        local list = key("c", id, "timeline")
        local unchanged = redis.call("ZSCORE", key("c", "to-purge"), id)
            and redis.call("HGET", c, "v") == version
            and redis.call("LLEN", list) == length
        if unchanged then
            if data == "" then
                redis.call("HSET", c, "purged", "2")
                aside = aside + 1
            else
                redis.call("HSET", c, "data", data, "purged", "1")
                redis.call("HINCRBY", c, "v", 1)
                purged = purged + 1
            end
            redis.call("ZREM", key("c", "to-purge"), id)
            for i, entry in ipairs(timeline) do
                redis.call("LSET", list, i - 1, entry)
            end
            -- Every text sent about it may quote the sender.
            for _, o in ipairs(redis.call("SMEMBERS", key("c", id, "outbox"))) do
                if redis.call("EXISTS", key("o", o)) == 1 then
                    redis.call("HSET", key("o", o), "body", placeholder)
                end
            end
        end
    end
    return { purged, aside }
end

-- Purge: delete up to `limit` raw inbound items processed before `cutoff`.
function writes.purge_inbound(cutoff, limit)
    local keys = redis.call("ZRANGEBYSCORE", key("in", "done"), "-inf", "(" .. cutoff, "LIMIT", 0, tonumber(limit))
    for _, k in ipairs(keys) do
        redis.call("DEL", key("in", k))
        redis.call("ZREM", key("in", "done"), k)
    end
    return #keys
end

-- Purge: delete up to `limit` enrolments that ended before `cutoff`, and
-- their numbers.
function writes.purge_enrolments(cutoff, limit)
    local ids = redis.call("ZRANGEBYSCORE", key("e", "ends"), "-inf", "(" .. cutoff, "LIMIT", 0, tonumber(limit))
    for _, id in ipairs(ids) do
        local phones = redis.call("HGET", key("e", id), "phones") or ""
        for phone in string.gmatch(phones, "[^,]+") do
            redis.call("SREM", key("phone", phone), id)
        end
        redis.call("DEL", key("e", id), key("e", id, "check-ins"))
        redis.call("ZREM", key("e", "ends"), id)
    end
    return #ids
end

-- ---- Staff on the web: sign-in codes, request counts, sessions, calendar
-- feed tokens. Expiry is by the times the caller gives (the service's
-- clock), kept in a sorted set per kind, not by Redis's own clock.

-- Delete up to 100 members of the expiry index `kind` due by `now`, each
-- with the hash key("kind", member).
local function expire(kind, now)
    local due = redis.call("ZRANGEBYSCORE", key(kind, "ends"), "-inf", now, "LIMIT", 0, 100)
    for _, member in ipairs(due) do
        redis.call("DEL", key(kind, member))
        redis.call("ZREM", key(kind, "ends"), member)
    end
end

-- Store a sign-in code waiting under its challenge (hex); codes that
-- expired a day before this one's expiry go.
function writes.put_sign_in_code(challenge, person, code, method, expires_at, kept)
    expire("signin", tostring(tonumber(expires_at) - tonumber(kept)))
    local k = key("signin", challenge)
    redis.call("DEL", k)
    redis.call("HSET", k, "person", person, "code", code, "method", method, "expires", expires_at, "attempts", 0)
    redis.call("ZADD", key("signin", "ends"), expires_at, challenge)
    return "ok"
end

-- Try a code (hex) against a challenge at `now`: {"ok", person, method,
-- expires}, {"wrong", tries left, person}, or {"gone"}.
function writes.check_sign_in_code(challenge, code, now, max_attempts)
    local k = key("signin", challenge)
    local f = redis.call("HMGET", k, "person", "code", "method", "expires", "attempts")
    if not f[1] then
        return { "gone" }
    end
    local attempts = tonumber(f[5])
    local gone = function()
        redis.call("DEL", k)
        redis.call("ZREM", key("signin", "ends"), challenge)
    end
    if tonumber(f[4]) <= tonumber(now) or attempts >= tonumber(max_attempts) then
        gone()
        return { "gone" }
    end
    if f[2] ~= code then
        attempts = attempts + 1
        if attempts >= tonumber(max_attempts) then
            gone()
        else
            redis.call("HSET", k, "attempts", attempts)
        end
        return { "wrong", tostring(tonumber(max_attempts) - attempts), f[1] }
    end
    gone()
    return { "ok", f[1], f[3], f[4] }
end

-- Count a hit on `bucket` in the window starting at `start` and ending at
-- `end_`; the count so far.
function writes.count_hit(bucket, start, end_, now)
    expire("hits", now)
    local member = bucket .. "|" .. start
    local n = redis.call("HINCRBY", key("hits", member), "n", 1)
    redis.call("ZADD", key("hits", "ends"), end_, member)
    return n
end

-- Store a new session under its hash (hex); expired ones go.
function writes.create_session(hash, person, method, created, seen, expires)
    expire("session", created)
    local k = key("session", hash)
    if redis.call("EXISTS", k) == 1 then
        return redis.error_reply("INVALID a session with this hash is stored already")
    end
    redis.call("HSET", k, "person", person, "method", method, "created", created, "seen", seen, "expires", expires)
    redis.call("ZADD", key("session", "ends"), expires, hash)
    return "ok"
end

-- Note a session's use at `at` (never moving it back).
function writes.touch_session(hash, at)
    local k = key("session", hash)
    local seen = redis.call("HGET", k, "seen")
    if seen and tonumber(seen) < tonumber(at) then
        redis.call("HSET", k, "seen", at)
    end
    return "ok"
end

function writes.delete_session(hash)
    redis.call("DEL", key("session", hash))
    redis.call("ZREM", key("session", "ends"), hash)
    return "ok"
end

-- Give `person` the calendar token `hash` (hex), or none when it is "".
function writes.set_calendar_token(person, hash, at)
    local old = redis.call("HGET", key("cal", "by-person"), person)
    if old then
        redis.call("HDEL", key("cal", "by-hash"), old)
        redis.call("HDEL", key("cal", "by-person"), person)
        redis.call("HDEL", key("cal", "made"), person)
    end
    if hash ~= "" then
        redis.call("HSET", key("cal", "by-hash"), hash, person)
        redis.call("HSET", key("cal", "by-person"), person, hash)
        redis.call("HSET", key("cal", "made"), person, at)
    end
    return "ok"
end

-- The layer is still at the version an edit or undo was judged against.
local function layer_still_at(judged_at)
    return tonumber(redis.call("GET", key("rota-layer")) or "0") == tonumber(judged_at)
end

-- A rota edit (JSON) and its audit line (JSON): stored together, and the
-- layer's version moves on, if the layer is still at the version the edit
-- was judged against. Returns the edit's number. The audit trail is a list
-- only ever pushed to: a line's place is its index plus one.
function writes.add_rota_edit(data, audit, judged_at)
    if not layer_still_at(judged_at) then
        return redis.error_reply("CONFLICT the rota edits layer moved on since the edit was judged")
    end
    local id = redis.call("INCR", key("rota-edit", "seq"))
    redis.call("HSET", key("rota-edit", id), "data", data)
    redis.call("RPUSH", key("rota-edit", "ids"), id)
    redis.call("RPUSH", key("audit"), id .. "|" .. audit)
    redis.call("INCR", key("rota-layer"))
    return id
end

-- Undo a rota edit still standing, if the layer is still at the version
-- the undo was judged against: 1, or 0 (nothing written) if there is none
-- or it is undone already.
function writes.undo_rota_edit(id, undone, audit, judged_at)
    if not layer_still_at(judged_at) then
        return redis.error_reply("CONFLICT the rota edits layer moved on since the undo was judged")
    end
    local k = key("rota-edit", id)
    local f = redis.call("HMGET", k, "data", "undone")
    if not f[1] or f[2] then
        return 0
    end
    redis.call("HSET", k, "undone", undone)
    redis.call("RPUSH", key("audit"), id .. "|" .. audit)
    redis.call("INCR", key("rota-layer"))
    return 1
end

-- Append a line to the audit trail: its place.
function writes.append_audit(audit)
    return redis.call("RPUSH", key("audit"), "|" .. audit)
end

-- Mark a gap alerted: 1 for the first caller, 0 after.
function writes.mark_gap_alerted(k, at)
    return redis.call("HSETNX", key("gap-alerted"), k, at)
end

local write = writes[ARGV[1]]
if not write then
    return redis.error_reply("no such write")
end
return write(unpack(ARGV, 2))
