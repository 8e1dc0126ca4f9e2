-- Undo a rota edit still standing, if the layer is still at the version
-- the undo was judged against: 1, or 0 (nothing written) if there is none
-- or it is undone already.
local function undo_rota_edit(id, undone, audit, judged_at)
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

return undo_rota_edit(unpack(ARGV))
