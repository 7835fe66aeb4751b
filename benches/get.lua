-- wrk script: GetTask on the task ids listed in the file named by TASK_IDS (one per line), in turn.
-- benches/mixed.sh writes that file and runs this beside benches/send.lua.
local ids = {}
local i = 0

function init(args)
  for line in io.lines(os.getenv("TASK_IDS") or "task-ids.txt") do
    table.insert(ids, line)
  end
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["A2A-Version"] = "1.0"

function request()
  i = i + 1
  local id = ids[(i % #ids) + 1]
  return wrk.format(nil, nil, nil,
    '{"jsonrpc":"2.0","id":' .. i .. ',"method":"GetTask","params":{"id":"' .. id .. '"}}')
end

function done(summary, latency, requests)
  io.write(string.format("req/s %.0f  p50 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  non-2xx/errors %d/%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency:percentile(99.9) / 1000, summary.errors.status,
    summary.errors.read + summary.errors.write + summary.errors.timeout))
end
