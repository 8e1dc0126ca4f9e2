-- Every rota edit, in order: {id, data, undone or ""} each.
local function rota_edits()
    local out = {}
    for _, id in ipairs(redis.call("LRANGE", key("rota-edit", "ids"), 0, -1)) do
        local f = redis.call("HMGET", key("rota-edit", id), "data", "undone")
        table.insert(out, { id, f[1], f[2] or "" })
    end
    return out
end

return rota_edits(unpack(ARGV))
