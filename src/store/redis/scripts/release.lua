-- Give back each claim (as for renew) still held with its token: its work
-- can be claimed again at once.
local function release(claims)
    for _, c in ipairs(cjson.decode(claims)) do
        local ck = claim_key(c[1], c[2])
        if redis.call("HGET", ck, "token") == c[3] then
            redis.call("HSET", ck, "until", "")
            redis.call("ZREM", key("held", c[1]), c[2])
            rescore(c[1], c[2])
        end
    end
    return "ok"
end

return release(unpack(ARGV))
