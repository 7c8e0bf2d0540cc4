-- The soak's request mix (see bench/soak.py). Reads one JSON request body a
-- line from $SOAK_READS (the benchmark's Q1-Q4) and from $SOAK_REVOKES
-- (updateSession revokes of active leaf sessions). Each request is a revoke
-- of a random leaf with probability $SOAK_REVOKE_PERCENT %, otherwise a read
-- chosen uniformly. Revoking an already-revoked session still succeeds, so
-- leaves may be drawn more than once.
--
-- Counts as errors, besides wrk's socket errors: every response whose status
-- is not 200, and every 200 whose body holds an "errors" key (GraphQL
-- reports resolver errors with status 200). done() prints one line,
-- `SOAK {json}`, and, when something failed, `SOAK_FIRST_ERROR ...` with
-- the first failed response of any thread.

local reads = {}
local revokes = {}
local revoke_percent = 20
local threads = {}

-- Globals: done() reads them through thread:get.
sent = {}  -- sent[i] for reads[i]; sent[#reads + 1] for revokes
http_errors = 0
graphql_errors = 0
first_error = nil

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

local function load(path, into)
  for line in io.lines(path) do
    if line ~= "" then
      into[#into + 1] = line
    end
  end
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/graphql-response+json"
  -- wrk.headers already holds the -H headers (e.g. Authorization); the
  -- requests are formatted once, with all of them.
  local bodies = {}
  load(os.getenv("SOAK_READS"), bodies)
  for i, b in ipairs(bodies) do
    reads[i] = wrk.format(nil, nil, nil, b)
    sent[i] = 0
  end
  bodies = {}
  load(os.getenv("SOAK_REVOKES"), bodies)
  for i, b in ipairs(bodies) do
    revokes[i] = wrk.format(nil, nil, nil, b)
  end
  sent[#reads + 1] = 0
  revoke_percent = tonumber(os.getenv("SOAK_REVOKE_PERCENT") or "20")
  math.randomseed(os.time() * 1000 + (thread_index or 0) * 7919)
end

function request()
  if #revokes > 0 and math.random() * 100 < revoke_percent then
    sent[#reads + 1] = sent[#reads + 1] + 1
    return revokes[math.random(#revokes)]
  end
  local i = math.random(#reads)
  sent[i] = sent[i] + 1
  return reads[i]
end

function response(status, headers, body)
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
  local total_http, total_graphql, first = 0, 0, nil
  local totals = {}
  for _, thread in ipairs(threads) do
    total_http = total_http + (thread:get("http_errors") or 0)
    total_graphql = total_graphql + (thread:get("graphql_errors") or 0)
    first = first or thread:get("first_error")
    for i, n in ipairs(thread:get("sent") or {}) do
      totals[i] = (totals[i] or 0) + n
    end
  end
  local e = summary.errors
  io.write(string.format(
    'SOAK {"requests":%d,"duration_us":%d,"socket_errors":%d,"http_errors":%d,"graphql_errors":%d,'
      .. '"p50_us":%d,"p99_us":%d,"max_us":%d,"sent":[%s]}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout,
    total_http, total_graphql,
    latency:percentile(50), latency:percentile(99), latency.max, table.concat(totals, ",")))
  if first then
    io.write("SOAK_FIRST_ERROR " .. first .. "\n")
  end
end
