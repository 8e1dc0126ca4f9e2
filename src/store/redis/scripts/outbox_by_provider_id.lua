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
local function outbox_by_provider_id(provider)
    local id = redis.call("HGET", key("o", "provider"), provider)
    if not id then
        return false
    end
    return outbox_item(id) or false
end

return outbox_by_provider_id(unpack(ARGV))
