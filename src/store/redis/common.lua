-- Helpers every Nightingale script starts with (the Rust side puts this
-- file in front of each script's body).
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

-- The outbox: an unsent item (pending or in flight) sits in its number's
-- queue (a sorted set by id) and in the backlog indexes; only the head of
-- each queue sits in "o:due", so texts to one number go out in order.
local function fix_queue(to)
    local queue = key("o", "to", to)
    local head = redis.call("ZRANGE", queue, 0, 0)[1]
    local old = redis.call("HGET", key("o", "head"), to)
    if old and old ~= head then
        redis.call("ZREM", key("o", "due"), padded(old))
    end
    if head then
        redis.call("HSET", key("o", "head"), to, head)
        redis.call("ZADD", key("o", "due"), redis.call("HGET", key("o", head), "due"), padded(head))
    else
        redis.call("HDEL", key("o", "head"), to)
    end
end

-- Put an outbox item in the indexes its state calls for.
local function index_outbox(id)
    local item = key("o", id)
    local fields = redis.call("HMGET", item, "to", "state", "due", "queued", "attempts")
    local to, state, due, queued, attempts = fields[1], fields[2], fields[3], fields[4], fields[5]
    if state == "pending" or state == "in_flight" then
        redis.call("ZADD", key("o", "to", to), id, id)
        redis.call("ZADD", key("o", "unsent"), due, id)
        redis.call("ZADD", key("o", "queued"), queued, id)
        if tonumber(attempts) > 0 then
            redis.call("SADD", key("o", "retrying"), id)
        else
            redis.call("SREM", key("o", "retrying"), id)
        end
    else
        redis.call("ZREM", key("o", "to", to), id)
        redis.call("ZREM", key("o", "unsent"), id)
        redis.call("ZREM", key("o", "queued"), id)
        redis.call("SREM", key("o", "retrying"), id)
    end
    fix_queue(to)
end

