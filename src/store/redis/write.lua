-- Writes other than a Change, each atomic. ARGV[1] names the write; the
-- rest are its arguments.

local writes = {}

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

-- Store an API key's name under its hash (hex); an error if the hash is stored.
function writes.create_api_key(hash, name, at)
    if redis.call("HSETNX", key("api-key"), hash, name) == 0 then
        return redis.error_reply("an API key with this hash is already stored")
    end
    redis.call("HSET", key("api-key", "created"), hash, at)
    return "ok"
end

-- A named secret: the stored one, or `fresh` stored now.
function writes.secret(name, fresh)
    redis.call("HSETNX", key("secret"), name, fresh)
    return redis.call("HGET", key("secret"), name)
end

-- Purge, step 2: write what step 1's caller redacted, for each concern
-- that has not changed since: ARGV after the placeholder is a list of
-- {id, version, timeline length, data, changed entries as index and text
-- pairs (count first)}. Returns how many were purged.
function writes.purge_concerns(placeholder, ...)
    local args = { ... }
    local i, purged = 1, 0
    while i <= #args do
        local id, version, length, data, changes = args[i], args[i + 1], tonumber(args[i + 2]), args[i + 3], tonumber(args[i + 4])
        local c = key("c", id)
        local timeline = key("c", id, "timeline")
        local still = redis.call("ZSCORE", key("c", "to-purge"), id)
            and redis.call("HGET", c, "v") == version
            and redis.call("LLEN", timeline) == length
        if still then
            redis.call("HSET", c, "data", data, "purged", "1")
            redis.call("HINCRBY", c, "v", 1)
            redis.call("ZREM", key("c", "to-purge"), id)
            for j = 0, changes - 1 do
                redis.call("LSET", timeline, args[i + 5 + 2 * j], args[i + 6 + 2 * j])
            end
            for _, o in ipairs(redis.call("SMEMBERS", key("c", id, "outbox"))) do
                if redis.call("EXISTS", key("o", o)) == 1 then
                    redis.call("HSET", key("o", o), "body", placeholder)
                end
            end
            purged = purged + 1
        end
        i = i + 5 + 2 * changes
    end
    return purged
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
        redis.call("DEL", key("e", id))
        redis.call("ZREM", key("e", "ends"), id)
    end
    return #ids
end

local write = writes[ARGV[1]]
if not write then
    return redis.error_reply("no such write")
end
return write(unpack(ARGV, 2))
