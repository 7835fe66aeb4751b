-- wrk script: blocking SendMessage to the default agent, a fresh messageId per request.
-- Run: wrk -t1 -c64 -d10s -s benches/send.lua http://127.0.0.1:7420/
-- The ids are a per-run prefix and a counter; MESSAGE_IDS=uuid sends random UUIDv4 ids instead, as
-- the official SDKs do (the idempotency index then takes its keys in random order: see README).
local uuid_ids = os.getenv("MESSAGE_IDS") == "uuid"
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("tid", thread_id)
  thread_id = thread_id + 1
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() + (tid or 0))
  prefix = string.format("bench-%d-%d-", os.time(), math.random(1, 1000000000))
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["A2A-Version"] = "1.0"

local function uuid4()
  return string.format("%08x-%04x-4%03x-%04x-%04x%08x", math.random(0, 0xffffffff), math.random(0, 0xffff),
    math.random(0, 0xfff), math.random(0x8000, 0xbfff), math.random(0, 0xffff), math.random(0, 0xffffffff))
end

function request()
  counter = counter + 1
  local id = uuid_ids and uuid4() or prefix .. counter
  local body = '{"jsonrpc":"2.0","id":' .. counter ..
    ',"method":"SendMessage","params":{"message":{"messageId":"' .. id ..
    '","role":"ROLE_USER","parts":[{"text":"hello"}]}}}'
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status ~= 200 or not string.find(body, "TASK_STATE_COMPLETED", 1, true) then
    errors = (errors or 0) + 1
  end
end

-- `errors` lives in each thread's own Lua state: done() (in the main state) collects it.
function done(summary, latency, requests)
  local failed = 0
  for _, t in ipairs(threads) do
    failed = failed + (t:get("errors") or 0)
  end
  io.write(string.format("req/s %.0f  p50 %.3f ms  p99 %.3f ms  non-2xx/errors %d/%d  not-completed %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.errors.status, summary.errors.read + summary.errors.write + summary.errors.timeout,
    failed))
end
