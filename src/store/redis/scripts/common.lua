-- Helpers every Nightingale script starts with (the Rust side puts this
-- file in front of each script's body, after the line that declares the
-- script's flags).
--
-- KEYS[1] is the namespace prefix itself, e.g. "{ng}:". Every key a
-- script touches starts with it, so all of them hash to the slot of the
-- tag between the braces: one slot per namespace, so a script is atomic on
-- Redis Cluster too. The other keys are built here from the prefix.
--
-- Scripts check everything before they write anything: Redis does not
-- roll a script back when it fails half way.
--
-- Numbers cross the boundary as strings: Lua numbers are doubles, and
-- Redis truncates a number a script returns to an integer.

local P = KEYS[1]

local function key(...)
    return P .. table.concat({ ... }, ":")
end

-- An outbox id padded so that members of equal score sort by id.
local function padded(id)
    return string.format("%020d", tonumber(id))
end

-- Split "a<sep>b" at the first separator.
local function split2(s, sep)
    local i = string.find(s, sep, 1, true)
    if not i then
        return s, nil
    end
    return string.sub(s, 1, i - 1), string.sub(s, i + #sep)
end

-- The place of a concern in the lexicographic list indexes:
-- "<16 hex digits of opened_at>:<id>".
local function concern_id_of(member)
    return string.sub(member, 18)
end

-- The outbox: an unsent item (pending or in flight) sits in its lane's
-- queue (a sorted set by id) and in the backlog indexes. A lane is a
-- patient's or carer's number ("NUMBER/"), or a clinician's number and one
-- concern ("NUMBER/CONCERN"): only the head of each lane sits in "o:due",
-- so texts to a patient go out in order, and a clinician's about one
-- concern, while a page that hangs holds up no other patient's page to the
-- same clinician.
local function lane_of(to, concern, staff)
    if staff and staff ~= "" then
        return to .. "/" .. (concern or "")
    end
    return to .. "/"
end

-- The heads of the lanes wait in one index per priority (ADR 31),
-- "o:due:0" (urgent), "o:due:1", "o:due:2", each head in that of its own
-- "prio" (as Rust decided it; the texts before it in its lane are made
-- at least as urgent when one is queued, so a head carries its lane's
-- most urgent priority). Claiming reads them in this order. An item
-- stored without a priority (none should be, once `order_outbox` ran)
-- counts as urgent: never later than before.
local OUTBOX_PRIORITIES = { "0", "1", "2" }

local function due_index(prio)
    return key("o", "due", prio)
end

local function prio_of(id)
    return redis.call("HGET", key("o", id), "prio") or "0"
end

-- When the outbox item `id` may next be claimed, its score in its "o:due:P":
-- its due time, or the end of the lease on it (live or lapsed) if later.
-- So a text waiting at a slow provider sits past "now" in its index while
-- its lease lasts, and neither claiming nor `next_due` has to step past it.
local function ready_at(id)
    local due = redis.call("HGET", key("o", id), "due")
    local held = redis.call("ZSCORE", key("held", "outbox"), id)
    if held and tonumber(held) > tonumber(due) then
        return held
    end
    return due
end

-- A claim on work of `kind` was granted, renewed or given back: for an
-- outbox item at the head of its lane, move it in "o:due" to match.
local function rescore(kind, k)
    if kind == "outbox" then
        redis.call("ZADD", due_index(prio_of(k)), "XX", ready_at(k), padded(k))
    end
end

local function fix_queue(lane)
    local queue = key("o", "lane", lane)
    local head = redis.call("ZRANGE", queue, 0, 0)[1]
    local old = redis.call("HGET", key("o", "head"), lane)
    if old and old ~= head then
        for _, p in ipairs(OUTBOX_PRIORITIES) do
            redis.call("ZREM", due_index(p), padded(old))
        end
    end
    if head then
        local prio = prio_of(head)
        for _, p in ipairs(OUTBOX_PRIORITIES) do
            if p ~= prio then
                redis.call("ZREM", due_index(p), padded(head))
            end
        end
        redis.call("HSET", key("o", "head"), lane, head)
        redis.call("ZADD", due_index(prio), ready_at(head), padded(head))
    else
        redis.call("HDEL", key("o", "head"), lane)
    end
end

-- The unsent items queued before `id` in `lane` go at least as urgently
-- as `prio` (a smaller rank is more urgent).
local function promote(lane, id, prio)
    for _, earlier in ipairs(redis.call("ZRANGEBYSCORE", key("o", "lane", lane), "-inf", "(" .. id)) do
        if tonumber(prio_of(earlier)) > tonumber(prio) then
            redis.call("HSET", key("o", earlier), "prio", prio)
        end
    end
end

-- Put an outbox item in the indexes its state calls for.
local function index_outbox(id)
    local item = key("o", id)
    local fields = redis.call("HMGET", item, "to", "state", "due", "queued", "attempts", "concern", "staff")
    local to, state, due, queued, attempts = fields[1], fields[2], fields[3], fields[4], fields[5]
    local lane = lane_of(to, fields[6], fields[7])
    if state == "pending" or state == "in_flight" then
        redis.call("ZADD", key("o", "lane", lane), id, id)
        promote(lane, id, prio_of(id))
        redis.call("ZADD", key("o", "unsent"), due, id)
        redis.call("ZADD", key("o", "queued"), queued, id)
        if tonumber(attempts) > 0 then
            redis.call("SADD", key("o", "retrying"), id)
        else
            redis.call("SREM", key("o", "retrying"), id)
        end
    else
        redis.call("ZREM", key("o", "lane", lane), id)
        redis.call("ZREM", key("o", "unsent"), id)
        redis.call("ZREM", key("o", "queued"), id)
        redis.call("SREM", key("o", "retrying"), id)
    end
    fix_queue(lane)
end

-- Claims: "claim:KIND:KEY" is a hash {token, holder, until, attempts},
-- kept from the first claim until the work completes (so `attempts` counts
-- the claims that did not finish); `until` is "" once released. While a
-- claim is not released its key sits in "held:KIND", scored by `until`.
-- Tokens come from one counter, "claim-token".

local function claim_key(kind, k)
    return key("claim", kind, k)
end

-- The work is done (or gone): forget its claim.
local function end_claim(kind, k)
    redis.call("DEL", claim_key(kind, k))
    redis.call("ZREM", key("held", kind), k)
end

-- Whether the work is under a claim whose lease has not ended at `now`.
local function held_at(kind, k, now)
    local until_ = redis.call("ZSCORE", key("held", kind), k)
    return until_ and tonumber(until_) > tonumber(now)
end

-- Hand `node` a claim on the work until `until_`: {token, attempts}.
local function grant(kind, k, node, until_)
    local ck = claim_key(kind, k)
    local attempts = 0
    local before = redis.call("HGET", ck, "attempts")
    if before then
        attempts = tonumber(before) + 1
    end
    local token = redis.call("INCR", key("claim-token"))
    redis.call("HSET", ck, "token", token, "holder", node, "until", until_, "attempts", attempts)
    redis.call("ZADD", key("held", kind), until_, k)
    return { tostring(token), tostring(attempts) }
end

-- The work keys of each kind's index members: an inbound item's member is
-- "SEQ|KEY"; a timer's is its key, "CONCERN/KIND"; an outbox item's is its
-- padded id.
local work_key_of = {
    inbound = function(member)
        local _, k = split2(member, "|")
        return k
    end,
    timer = function(member)
        return member
    end,
    notice = function(member)
        return member
    end,
    outbox = function(member)
        return tostring(tonumber(member))
    end,
}

-- The first member of an index (by score) whose work is not under a claim
-- (live or lapsed: a lapsed one counts from its lease's end): its score.
-- Claimed work sits at the front only as long as it is being worked on,
-- so this reads few members.
local function first_unclaimed(index, kind)
    local offset = 0
    while true do
        local page = redis.call("ZRANGE", index, offset, offset + 99, "WITHSCORES")
        if #page == 0 then
            return nil
        end
        for i = 1, #page, 2 do
            if not redis.call("ZSCORE", key("held", kind), work_key_of[kind](page[i])) then
                return page[i + 1]
            end
        end
        offset = offset + 100
    end
end

-- A clinician's open pages and those closed since `since`: {concern,
-- page} each. Pages are "pg:STAFF" (concern -> "CODE|OPEN|OPENED|CLOSED").
local function recent_pages(staff, since)
    local out = {}
    local concerns = redis.call("ZRANGE", key("pg", staff, "open"), 0, -1)
    for _, c in ipairs(redis.call("ZRANGEBYSCORE", key("pg", staff, "closed"), since, "+inf")) do
        table.insert(concerns, c)
    end
    for _, c in ipairs(concerns) do
        local page = redis.call("HGET", key("pg", staff), c)
        if page then
            table.insert(out, { c, page })
        end
    end
    return out
end

-- The codes a clinician has in use: on an open page or one closed since
-- `since`, or reserved and not released, or released since `since`.
-- Reservations are "rsv:STAFF" (concern -> "CODE|CLOSED", CLOSED "" while held).
local function codes_in_use(staff, since)
    local used = {}
    for _, page in ipairs(recent_pages(staff, since)) do
        used[tonumber((split2(page[2], "|")))] = true
    end
    local reserved = redis.call("HGETALL", key("rsv", staff))
    for i = 1, #reserved, 2 do
        local code, closed = split2(reserved[i + 1], "|")
        if closed == "" or tonumber(closed) >= tonumber(since) then
            used[tonumber(code)] = true
        end
    end
    return used
end

-- A concern as {data, version}, or nil.
local function concern_row(id)
    local f = redis.call("HMGET", key("c", id), "data", "v")
    if not f[1] then
        return false
    end
    return f
end

-- Staff on the web: sign-in codes, request counts, sessions, calendar feed
-- tokens. Expiry is by the times the caller gives (the service's clock),
-- kept in a sorted set per kind, not by Redis's own clock.

-- Delete up to 100 members of the expiry index `kind` due by `now`, each
-- with the hash key("kind", member).
local function expire(kind, now)
    local due = redis.call("ZRANGEBYSCORE", key(kind, "ends"), "-inf", now, "LIMIT", 0, 100)
    for _, member in ipairs(due) do
        redis.call("DEL", key(kind, member))
        redis.call("ZREM", key(kind, "ends"), member)
    end
end

-- The layer is still at the version an edit or undo was judged against.
local function layer_still_at(judged_at)
    return tonumber(redis.call("GET", key("rota-layer")) or "0") == tonumber(judged_at)
end
