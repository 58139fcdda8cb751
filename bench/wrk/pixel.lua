-- wrk script: the tag's image pixel, each request a new event id (closed loop: measures capacity).
-- Usage: wrk -t1 -c12 -d10s -s bench/wrk/pixel.lua http://127.0.0.1:PORT -- TAG_ID RUN_TAG
-- Prints one "WRKJSON {...}" line: requests, answered with the GIF (200), and anything else.

local threads = {}
local counter = 0
local tag_id = "demo"
local run = "w"
local events = { "page_visit", "view_category", "add_to_cart", "checkout" }

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  tag_id = args[1] or tag_id
  run = args[2] or run
  ok = 0
  other = 0
end

function request()
  counter = counter + 1
  local event = events[counter % #events + 1]
  local path = string.format(
    "/v1/tag/%s/event?event=%s&event_id=%s-%d-%09d&fp=visitor%06d&url=https%%3A%%2F%%2Fshop.example%%2Fp%%2F%d" ..
    "&value=19.90&currency=EUR",
    tag_id, event, run, tid, counter, counter % 5000, counter % 300
  )
  return wrk.format("GET", path)
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local c, o = 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("ok")
    o = o + t:get("other")
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"ok":%d,"other":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,' ..
    '"socket_errors":%d}\n',
    summary.requests, c, o, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout
  ))
end
