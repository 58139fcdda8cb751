-- wrk script: one off-site visit per request, unique event ids, Cookie headers rotated from a file.
-- Usage: wrk -t1 -c12 -d10s -s bench/wrk/visits.lua http://127.0.0.1:PORT -- IDENTITY_FILE TAG
-- IDENTITY_FILE has one Cookie header value per line ("-" for none). Prints one "WRKJSON {...}" line.

local threads = {}
local counter = 0
local idents = {}
local tag = "wrk"
local domains = {
  "trailpeak-gear.com", "simmerandsage.com", "linenandloft.com", "threadline-studio.com",
  "wanderledger.blog", "greenthumbgrove.com", "strongstride.com", "makersbench.com",
}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    table.insert(idents, line)
  end
  tag = args[2] or tag
  created = 0   -- 201: stored as a new row
  other = 0     -- anything else (duplicates, refusals, errors)
end

function request()
  counter = counter + 1
  local ident = idents[(counter + tid * 7919) % #idents + 1]
  local body = string.format(
    '{"url":"https://%s/p/%d","event_id":"%s-%d-%09d"}',
    domains[counter % #domains + 1], counter, tag, tid, counter
  )
  local headers = { ["Content-Type"] = "application/json" }
  if ident ~= "-" then
    headers["Cookie"] = ident
  end
  return wrk.format("POST", "/v1/offsite/visits", headers, body)
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local c, o = 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("created")
    o = o + t:get("other")
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"created":%d,"other":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,' ..
    '"socket_errors":%d,"non2xx":%d}\n',
    summary.requests, c, o, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status
  ))
end
