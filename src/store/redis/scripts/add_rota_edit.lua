-- A rota edit (JSON) and its audit line (JSON): stored together, and the
-- layer's version moves on, if the layer is still at the version the edit
-- was judged against. Returns the edit's number. The audit trail is a list
-- only ever pushed to: a line's place is its index plus one.
local function add_rota_edit(data, audit, judged_at)
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

return add_rota_edit(unpack(ARGV))
