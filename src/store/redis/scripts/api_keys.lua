-- API keys, each as {hash, name, created, grant or "", revoked or ""}:
-- the one with this hash (hex), or every one when `hash` is "". A key
-- stored before keys had grants has none (`store::codec::api_key_as_stored`).
local function api_keys(hash)
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

return api_keys(unpack(ARGV))
