-- wrk script for ci/bench.sh: optional POST bodies with unique names, and a one-line JSON
-- summary (requests/s, percentiles including p99.9, errors) that the script can parse.
--
-- Environment: BENCH_METHOD (GET|POST), BENCH_TOKEN (bearer token, optional).

local method = os.getenv("BENCH_METHOD") or "GET"
local token = os.getenv("BENCH_TOKEN")
local counter = 0
local prefix = ""
local threads = 0

-- Runs in the main state once per thread: number them (every thread's Lua state starts with
-- the same random seed, so random prefixes would collide).
function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

function init(args)
  -- Run start time and thread: POSTed names never collide within the tenant, across runs too.
  prefix = tostring(os.time()) .. "-" .. tostring(thread_id)
end

function request()
  local headers = {}
  if token and token ~= "" then
    headers["authorization"] = "Bearer " .. token
  end
  if method == "POST" then
    counter = counter + 1
    headers["content-type"] = "application/json"
    local body = string.format('{"name":"bench %s %d","description":"load test"}', prefix, counter)
    return wrk.format("POST", nil, headers, body)
  end
  return wrk.format("GET", nil, headers, nil)
end

function done(summary, latency, requests)
  local errors = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'WRK_JSON {"requests":%d,"rps":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,"p999_ms":%.3f,' ..
    '"max_ms":%.3f,"non_2xx":%d,"socket_errors":%d}\n',
    summary.requests, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000,
    errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end
