-- Posts GraphQL request bodies read from $BENCH_BODIES, one JSON body per
-- line. With several bodies the threads share them out, so within a run no
-- body is sent twice (the revoke workload relies on that).

local bodies = {}
next_body = 0  -- global: done() reads it through thread:get
local stride = 1
local fixed = nil
local threads = {}

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(os.getenv("BENCH_BODIES")) do
    bodies[#bodies + 1] = line
  end
  stride = tonumber(os.getenv("BENCH_THREADS"))
  next_body = thread_index
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/graphql-response+json"
  -- Compressed responses are only sent to clients that ask for them.
  local encoding = os.getenv("BENCH_ACCEPT_ENCODING")
  if encoding and encoding ~= "" then
    wrk.headers["Accept-Encoding"] = encoding
  end
  if #bodies == 1 then
    fixed = wrk.format(nil, nil, nil, bodies[1])
  end
end

function request()
  if fixed then
    return fixed
  end
  local body = bodies[(next_body % #bodies) + 1]
  next_body = next_body + stride
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  -- How far into the bodies any thread got: the next run starts past it.
  local used = 0
  for _, thread in ipairs(threads) do
    used = math.max(used, thread:get("next_body") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"errors":%d,"p50_us":%d,"p99_us":%d,"used":%d}\n',
    summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99), used))
end
