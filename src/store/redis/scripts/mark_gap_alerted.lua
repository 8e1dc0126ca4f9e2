-- Mark a gap alerted: 1 for the first caller, 0 after.
local function mark_gap_alerted(k, at)
    return redis.call("HSETNX", key("gap-alerted"), k, at)
end

return mark_gap_alerted(unpack(ARGV))
