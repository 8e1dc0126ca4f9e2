-- A concern as {data, version}, or nil.
return concern_row(ARGV[1])
