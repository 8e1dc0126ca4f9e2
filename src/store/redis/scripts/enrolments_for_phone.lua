-- Active enrolments with this number: their JSON.
local function enrolments_for_phone(phone, now)
    local out = {}
    for _, id in ipairs(redis.call("SMEMBERS", key("phone", phone))) do
        local f = redis.call("HMGET", key("e", id), "data", "ends", "ended")
        if f[1] and not f[3] and tonumber(f[2]) > tonumber(now) then
            table.insert(out, f[1])
        end
    end
    return out
end

return enrolments_for_phone(unpack(ARGV))
