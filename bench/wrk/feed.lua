-- wrk script: GET a path with Cookie headers rotated from a file (closed loop: measures capacity).
-- Usage: wrk -t1 -c8 -d10s -s bench/wrk/feed.lua http://127.0.0.1:PORT -- IDENTITY_FILE /v1/feed/home?limit=25
-- IDENTITY_FILE has one Cookie header value per line ("-" for none). Prints one "WRKJSON {...}" line.

local threads = {}
local counter = 0
local idents = {}
local path = "/v1/feed/home?limit=25"

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    table.insert(idents, line)
  end
  path = args[2] or path
end

function request()
  counter = counter + 1
  local ident = idents[(counter + tid * 7919) % #idents + 1]
  local headers = {}
  if ident ~= "-" then
    headers["Cookie"] = ident
  end
  return wrk.format("GET", path, headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"socket_errors":%d,"non2xx":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), e.connect + e.read + e.write + e.timeout, e.status
  ))
end
