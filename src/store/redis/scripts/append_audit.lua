-- Append a line to the audit trail: its place.
local function append_audit(audit)
    return redis.call("RPUSH", key("audit"), "|" .. audit)
end

return append_audit(unpack(ARGV))
