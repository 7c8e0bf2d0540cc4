-- POSTs one GraphQL body (the file $BENCH_BODY, one JSON document) on every
-- request; modelled on bench/wrk/graphql.lua (fixed body, same
-- headers) and soak.lua (errors counted from the responses).
--
-- Errors: wrk's socket errors (connect/read/write/timeout), every response
-- whose status is not 200, and every 200 whose body holds an "errors" key
-- (GraphQL reports resolver errors with status 200). "abandoned" counts the
-- requests still in flight when the run ended (wrk drops them uncounted; with
-- multi-second latencies that can be all of them); approximate, it can read
-- one higher per wrk thread. done() prints one line
-- `PEERSTATS {json}` and, if something failed, `PEERSTATS_FIRST_ERROR ...`.

local threads = {}
local fixed = nil

-- Globals: done() reads them through thread:get.
sent = 0      -- request() calls
responses = 0 -- response() calls; sent - responses = still in flight when the run ended (abandoned)
http_errors = 0
graphql_errors = 0
first_error = nil

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(os.getenv("BENCH_BODY"), "r"))
  local body = f:read("*a"):gsub("%s+$", "")
  f:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/graphql-response+json, application/json"
  fixed = wrk.format(nil, nil, nil, body)
end

function request()
  sent = sent + 1
  return fixed
end

function response(status, headers, body)
  responses = responses + 1
  local failed = false
  if status ~= 200 then
    http_errors = http_errors + 1
    failed = true
  elseif body and string.find(body, '"errors"', 1, true) then
    graphql_errors = graphql_errors + 1
    failed = true
  end
  if failed and first_error == nil then
    first_error = status .. " " .. string.sub(body or "", 1, 400):gsub("[\r\n]", " ")
  end
end

function done(summary, latency, requests)
  local total_http, total_graphql, total_sent, first = 0, 0, 0, nil
  for _, thread in ipairs(threads) do
    total_sent = total_sent + (thread:get("sent") or 0) - (thread:get("responses") or 0)
    total_http = total_http + (thread:get("http_errors") or 0)
    total_graphql = total_graphql + (thread:get("graphql_errors") or 0)
    first = first or thread:get("first_error")
  end
  local e = summary.errors
  io.write(string.format(
    'PEERSTATS {"requests":%d,"duration_us":%d,"socket_errors":%d,"timeouts":%d,"http_errors":%d,'
      .. '"graphql_errors":%d,"abandoned":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write, e.timeout,
    total_http, total_graphql, math.max(0, total_sent - e.timeout),
    latency:percentile(50), latency:percentile(99), latency.max))
  if first then
    io.write("PEERSTATS_FIRST_ERROR " .. first .. "\n")
  end
end
