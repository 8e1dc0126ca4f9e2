-- The code `staff` replies with for `concern`: the one already given (on
-- a page, or reserved, which is taken up again if it had been released),
-- or the next after their last code that is not in use since `since`,
-- reserved now. See `Store::reserve_code`.
local function reserve_code(concern, staff, since)
    local page = redis.call("HGET", key("pg", staff), concern)
    if page then
        return (split2(page, "|"))
    end
    local reserved = redis.call("HGET", key("rsv", staff), concern)
    if reserved then
        local code = split2(reserved, "|")
        redis.call("HSET", key("rsv", staff), concern, code .. "|")
        return code
    end
    -- Reservations out of quarantine hold nothing any more.
    local all = redis.call("HGETALL", key("rsv", staff))
    for i = 1, #all, 2 do
        local _, closed = split2(all[i + 1], "|")
        if closed ~= "" and tonumber(closed) < tonumber(since) then
            redis.call("HDEL", key("rsv", staff), all[i])
            redis.call("SREM", key("c", all[i], "reserved"), staff)
        end
    end
    local used = codes_in_use(staff, since)
    local last = tonumber(redis.call("HGET", key("last-code"), staff) or "0")
    -- 9,999 codes in use for one person: reuse one rather than fail to page.
    local code = last % 9999 + 1
    for i = 1, 9999 do
        local candidate = (last + i - 1) % 9999 + 1
        if not used[candidate] then
            code = candidate
            break
        end
    end
    redis.call("HSET", key("rsv", staff), concern, code .. "|")
    redis.call("SADD", key("c", concern, "reserved"), staff)
    redis.call("HSET", key("last-code"), staff, code)
    return tostring(code)
end

return reserve_code(unpack(ARGV))
