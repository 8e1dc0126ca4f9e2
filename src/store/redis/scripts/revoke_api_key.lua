-- Revoke at `at` every key named `name` not revoked yet: how many were.
local function revoke_api_key(name, at)
    local revoked = 0
    local all = redis.call("HGETALL", key("api-key"))
    for i = 1, #all, 2 do
        if all[i + 1] == name and redis.call("HSETNX", key("api-key", "revoked"), all[i], at) == 1 then
            revoked = revoked + 1
        end
    end
    return revoked
end

return revoke_api_key(unpack(ARGV))
