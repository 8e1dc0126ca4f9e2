-- Every enrolment with this NHS number, ended or not: {data, ended or ""} each.
local function enrolments_for_nhs_number(nhs)
    local out = {}
    for _, id in ipairs(redis.call("SMEMBERS", key("nhs", nhs))) do
        local f = redis.call("HMGET", key("e", id), "data", "ended")
        if f[1] then
            table.insert(out, f[1])
            table.insert(out, f[2] or "")
        end
    end
    return out
end

return enrolments_for_nhs_number(unpack(ARGV))
