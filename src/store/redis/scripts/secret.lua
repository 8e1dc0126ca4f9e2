-- A named secret: the stored one, or `fresh` stored now.
local function secret(name, fresh)
    redis.call("HSETNX", key("secret"), name, fresh)
    return redis.call("HGET", key("secret"), name)
end

return secret(unpack(ARGV))
