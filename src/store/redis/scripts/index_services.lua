-- Concerns stored before reports read `c:service:SERVICE` join it, `limit`
-- at a time from `after` (ZRANGEBYLEX form) in `c:all`; once done, a marker
-- says so and this does nothing. Returns where to go on from ("" when done).
local function index_services(after, limit)
    local done = key("meta", "service-index")
    if redis.call("EXISTS", done) == 1 then
        return ""
    end
    local members = redis.call("ZRANGEBYLEX", key("c", "all"), after, "+", "LIMIT", 0, tonumber(limit))
    for _, member in ipairs(members) do
        local service = redis.call("HGET", key("c", concern_id_of(member)), "service")
        if service then
            redis.call("ZADD", key("c", "service", service), 0, member)
        end
    end
    if #members < tonumber(limit) then
        redis.call("SET", done, "1")
        return ""
    end
    return "(" .. members[#members]
end

return index_services(unpack(ARGV))
