-- wrk script for the connector benchmark.
-- Arguments: <bodies file> <path> <threads>. Each line of the bodies file is one
-- request body (a signed Wix JWT). Thread i sends lines i, i+n, i+2n, ... in turn,
-- so threads never send the same line at the same time, and wraps around at the end.
-- A response that is not 200 or carries an "errorCode" counts as an error, and
-- done() prints one JSON line of figures for the runner to read.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  local step = tonumber(args[3])
  local lines = {}
  for line in io.lines(args[1]) do
    lines[#lines + 1] = line
  end
  if #lines < step then
    step, id = 1, 1  -- too few bodies to share out: every thread sends them all
  end
  local requests = {}
  for n = id, #lines, step do
    requests[#requests + 1] = wrk.format("POST", args[2], {["Content-Type"] = "text/plain"}, lines[n])
  end
  if #requests == 0 then
    error("no request bodies in " .. args[1])
  end
  prepared = requests
  position = 0
  errors = 0
  first_error = ""
end

function request()
  position = position % #prepared + 1
  return prepared[position]
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errorCode"', 1, true) then
    errors = errors + 1
    if first_error == "" then
      first_error = status .. " " .. string.sub(body, 1, 300)
    end
  end
end

local function json_string(text)
  return '"' .. string.gsub(text, '[%c"\\]', function(c)
    return string.format("\\u%04x", string.byte(c))
  end) .. '"'
end

function done(summary, latency, requests)
  local errors, first = 0, ""
  for _, thread in ipairs(threads) do
    errors = errors + thread:get("errors")
    if first == "" then first = thread:get("first_error") end
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "errors": %d, "first_error": %s, ' ..
    '"socket_errors": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d}\n',
    summary.requests, summary.duration, errors, json_string(first),
    e.connect + e.read + e.write + e.timeout + e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max))
end
