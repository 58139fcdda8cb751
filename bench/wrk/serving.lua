-- wrk script: GET rotating (path, Cookie) pairs from a file (closed loop: measures capacity).
-- Usage: wrk -t1 -c8 -d10s -s bench/wrk/serving.lua http://127.0.0.1:PORT -- REQUEST_FILE
-- REQUEST_FILE has one "PATH<TAB>COOKIE" per line (COOKIE "-" for none). Prints one "WRKJSON {...}" line.

local threads = {}
local counter = 0
local paths = {}
local cookies = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    local path, cookie = line:match("^([^\t]+)\t(.*)$")
    table.insert(paths, path)
    table.insert(cookies, cookie)
  end
end

function request()
  counter = counter + 1
  local i = (counter + tid * 7919) % #paths + 1
  local headers = {}
  if cookies[i] ~= "-" then
    headers["Cookie"] = cookies[i]
  end
  return wrk.format("GET", paths[i], headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"socket_errors":%d,"non2xx":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), e.connect + e.read + e.write + e.timeout, e.status
  ))
end
