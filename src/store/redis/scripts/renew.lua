-- Extend to `until_` each claim (JSON [[kind, key, token], ...]) that is
-- still held: not released, its work not completed, not claimed again.
-- Returns the positions (1-based) of those renewed.
local function renew(claims, until_)
    local out = {}
    for i, c in ipairs(cjson.decode(claims)) do
        local ck = claim_key(c[1], c[2])
        local f = redis.call("HMGET", ck, "token", "until")
        if f[1] == c[3] and f[2] and f[2] ~= "" then
            redis.call("HSET", ck, "until", until_)
            redis.call("ZADD", key("held", c[1]), until_, c[2])
            rescore(c[1], c[2])
            table.insert(out, i)
        end
    end
    return out
end

return renew(unpack(ARGV))
