-- wrk script for `make bench`: PUTs Matrix-shaped message bodies ({"msgtype":"m.text","body":"..."}) with varying
-- text to /_matrix/client/v3/rooms/<room>/send/m.room.message/<txn>, as a Matrix client sends them.
--   wrk -t1 -c64 -d10s --latency -s matrix-send.lua http://127.0.0.1:PORT -- WORDS HIT_RATIO PREFIX DELAY_MS
-- WORDS: a file with two lines, the everyday vocabulary and the filter words hits use (space separated).
-- HIT_RATIO: share of messages with one filter word (0.05 = 5 %). PREFIX: a path prefix ("" or "/pass").
-- DELAY_MS: mean pause per connection between requests (0 = as fast as possible; used for the half-load runs).
-- The requests are built once in init, so wrk spends its time sending, not formatting.
-- done() prints one machine-readable line: WRK_RESULT {...} (latencies in microseconds).

local requests = {}
local index = 0
local pause = 0

local function split(line)
  local words = {}
  for w in string.gmatch(line or "", "%S+") do
    words[#words + 1] = w
  end
  return words
end

init = function(args)
  local file = assert(io.open(args[1], "r"))
  local vocabulary = split(file:read("*l"))
  local hits = split(file:read("*l"))
  file:close()
  local ratio = tonumber(args[2]) or 0
  local prefix = args[3] or ""
  pause = tonumber(args[4]) or 0
  if pause > 0 then
    -- Uniform in [pause/2, 3*pause/2]: the same mean, and connections drift apart instead of arriving in bursts.
    local lo = math.max(0, math.floor(pause / 2))
    local hi = math.max(lo, math.floor(pause * 3 / 2 + 0.5))
    math.randomseed(4242)
    delay = function() return math.random(lo, hi) end
  end

  -- Deterministic: the same messages in every run (and in every wrk thread).
  local seed = 12345
  local function rand(n)
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed % n + 1
  end

  local count = 2000
  local hitEvery = ratio > 0 and math.floor(1 / ratio + 0.5) or 0
  for i = 1, count do
    local parts = {}
    local words = 4 + rand(50) -- 5 to 54 words: a short line up to a paragraph (about 20 to 300 characters)
    for k = 1, words do
      parts[k] = vocabulary[rand(#vocabulary)]
    end
    if hitEvery > 0 and i % hitEvery == 0 then
      parts[rand(words)] = hits[rand(#hits)]
    end
    local body = string.format('{"msgtype":"m.text","body":"%s"}', table.concat(parts, " "))
    local path = string.format("%s/_matrix/client/v3/rooms/%%21room%d%%3Aexample.org/send/m.room.message/txn%d",
      prefix, rand(20), i)
    requests[i] = wrk.format("PUT", path, { ["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer syt_bench_token" }, body)
  end
end

request = function()
  index = index % #requests + 1
  return requests[index]
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"errors_connect":%d,"errors_read":%d,"errors_write":%d,' ..
    '"errors_status":%d,"errors_timeout":%d,"latency_mean_us":%.1f,"latency_p50_us":%d,"latency_p90_us":%d,' ..
    '"latency_p99_us":%d,"latency_p999_us":%d,"latency_max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max))
end
