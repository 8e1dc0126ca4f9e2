-- Store an API key under its hash (hex): its name, when it was made, and
-- its grant (JSON: client, scopes, expiry); an error if the hash or the
-- name is stored already (a revoked key keeps its name); `revoked` is
-- when it was revoked, or "". A trust has a handful of keys, so the names
-- are looked through, not indexed.
local function create_api_key(hash, name, at, grant, revoked)
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

return create_api_key(unpack(ARGV))
