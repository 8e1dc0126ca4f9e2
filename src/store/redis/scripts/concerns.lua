-- Concerns newest first from one list index, below `max` and from `min`
-- (in ZREVRANGEBYLEX form), whose status is one of `statuses` (comma
-- separated, empty for any), whose service is `service` (empty for any)
-- and whose enrolment was made by API client `client` (empty for any); at
-- most `limit`, each as {data, version}. Walks the index as SQLite
-- walks its index, but looks at no more than `budget` entries, so that a
-- rare match in a long list does not hold Redis up for every other client:
-- returns {rows, where to go on from ("" when the walk is done)}.
local function concerns(index, max, min, limit, statuses, service, client, budget)
    limit, budget = tonumber(limit), tonumber(budget)
    local wanted = nil
    if statuses ~= "" then
        wanted = {}
        for s in string.gmatch(statuses, "[^,]+") do
            wanted[s] = true
        end
    end
    local out = {}
    local looked = 0
    while #out < limit do
        if looked >= budget then
            return { out, max }
        end
        local members = redis.call("ZREVRANGEBYLEX", P .. index, max, min, "LIMIT", 0, 100)
        if #members == 0 then
            break
        end
        for _, member in ipairs(members) do
            looked = looked + 1
            max = "(" .. member
            local f = redis.call("HMGET", key("c", concern_id_of(member)), "status", "service", "data", "v", "enrolment")
            if f[3] and (not wanted or wanted[f[1]]) and (service == "" or f[2] == service)
                and (client == "" or (f[5] and redis.call("HGET", key("e", f[5]), "client") == client)) then
                table.insert(out, { f[3], f[4] })
                if #out == limit then
                    break
                end
            end
        end
    end
    return { out, "" }
end

return concerns(unpack(ARGV))
