-- A clinician's open pages and those closed since `since`: {concern, page}.
local function pages_for(staff, since)
    return recent_pages(staff, since)
end

return pages_for(unpack(ARGV))
