-- wrk script: blocking SendMessage to the default agent, a fresh messageId per request.
-- Run: wrk -t1 -c64 -d10s -s benches/send.lua http://127.0.0.1:7420/
local counter = 0
local thread_id = 0

function setup(thread)
  thread:set("tid", thread_id)
  thread_id = thread_id + 1
end

function init(args)
  math.randomseed(os.time() + (tid or 0))
  prefix = string.format("bench-%d-%d-", os.time(), math.random(1, 1000000000))
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["A2A-Version"] = "1.0"

function request()
  counter = counter + 1
  local body = '{"jsonrpc":"2.0","id":' .. counter ..
    ',"method":"SendMessage","params":{"message":{"messageId":"' .. prefix .. counter ..
    '","role":"ROLE_USER","parts":[{"text":"hello"}]}}}'
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status ~= 200 or not string.find(body, "TASK_STATE_COMPLETED", 1, true) then
    errors = (errors or 0) + 1
  end
end

function done(summary, latency, requests)
  io.write(string.format("req/s %.0f  p50 %.3f ms  p99 %.3f ms  non-2xx/errors %d/%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.errors.status, summary.errors.read + summary.errors.write + summary.errors.timeout))
end
