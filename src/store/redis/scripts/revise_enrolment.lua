-- Write an enrolment's new state over its stored one (a renewal, an end
-- with its reason, a merge onto another NHS number): its data, when it
-- ends, when it ended ("" if it has not) and its NHS number ("" if none),
-- moving it between the NHS number indexes. Its addresses stay as they
-- are. 1 if it was stored, 0 if there is no such enrolment.
local function revise_enrolment(id, data, ends, score, ended, nhs)
    local k = key("e", id)
    if redis.call("EXISTS", k) == 0 then
        return 0
    end
    local before = redis.call("HGET", k, "nhs")
    if before and before ~= nhs then
        redis.call("SREM", key("nhs", before), id)
    end
    redis.call("HSET", k, "data", data, "ends", ends)
    if ended ~= "" then
        redis.call("HSET", k, "ended", ended)
    else
        redis.call("HDEL", k, "ended")
    end
    if nhs ~= "" then
        redis.call("HSET", k, "nhs", nhs)
        redis.call("SADD", key("nhs", nhs), id)
    else
        redis.call("HDEL", k, "nhs")
    end
    redis.call("ZADD", key("e", "ends"), score, id)
    return 1
end

return revise_enrolment(unpack(ARGV))
