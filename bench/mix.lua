-- wrk driver for the ingest benchmark: cycles through pre-generated beacon hits and counts statuses.
--
-- Usage: wrk -t2 -c32 -d20s --latency -s bench/mix.lua http://127.0.0.1:PORT -- /tmp/.../requests.lua
-- The requests file (written by bench/traffic_mix.py) returns a list of {path, headers} tables. Every request
-- is formatted once per thread in init(), so request() only hands out a prepared string.
-- done() prints one line "BENCH_RESULT {json}" with what the Python driver needs; wrk's own summary is
-- printed as usual.

local threads = {}
local thread_count = 0

-- Globals in each thread's Lua state; done() reads them with thread:get().
prepared = {}
position = 1
issued = 0
statuses = {}

function setup(thread)
   thread_count = thread_count + 1
   thread:set("thread_id", thread_count)
   table.insert(threads, thread)
end

function init(args)
   local path = args[1]
   if path == nil then
      error("mix.lua needs the requests file: wrk ... -s bench/mix.lua URL -- requests.lua")
   end
   local hits = dofile(path)
   for i, hit in ipairs(hits) do
      prepared[i] = wrk.format("GET", hit[1], hit[2])
   end
   -- Threads start at different places in the mix so they do not send the same hit at the same moment.
   position = ((thread_id - 1) * 7919) % #prepared + 1
end

function request()
   local text = prepared[position]
   position = position % #prepared + 1
   issued = issued + 1
   return text
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

local function json_statuses(all)
   local parts = {}
   for status, count in pairs(all) do
      table.insert(parts, string.format('"%d": %d', status, count))
   end
   return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency, requests)
   local all, total_issued = {}, 0
   for _, thread in ipairs(threads) do
      total_issued = total_issued + thread:get("issued")
      for status, count in pairs(thread:get("statuses")) do
         all[status] = (all[status] or 0) + count
      end
   end
   local errors = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"duration_us": %d, "requests": %d, "bytes": %d, "issued": %d, "statuses": %s, '
         .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
         .. '"latency_us": {"mean": %.1f, "stdev": %.1f, "max": %d, "p50": %d, "p90": %d, "p99": %d, "p999": %d}}\n',
      summary.duration, summary.requests, summary.bytes, total_issued, json_statuses(all),
      errors.connect, errors.read, errors.write, errors.status, errors.timeout,
      latency.mean, latency.stdev, latency.max, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency:percentile(99.9)))
end
