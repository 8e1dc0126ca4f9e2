-- The newest unresolved concern from this number, as `concern` returns it.
local function open_concern_from(sender)
    local newest = redis.call("ZREVRANGEBYLEX", key("c", "from", sender), "+", "-", "LIMIT", 0, 1)[1]
    if not newest then
        return false
    end
    return concern_row(concern_id_of(newest))
end

return open_concern_from(unpack(ARGV))
