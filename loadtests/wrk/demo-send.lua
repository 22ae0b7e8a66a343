-- wrk script: POSTs demo-chat messages with varying text to the gateway's inspected route.
--   wrk -t2 -c64 -d10s -s loadtests/wrk/demo-send.lua http://127.0.0.1:8080/api/messages
-- About 5 % of messages carry a censorable word.
local words = { "hello", "weather", "meeting", "lunch", "project", "release", "coffee", "tomorrow", "thanks", "great" }
local counter = 0

request = function()
  counter = counter + 1
  local parts = {}
  for i = 1, 12 do
    parts[i] = words[((counter * 7 + i * 13) % #words) + 1]
  end
  if counter % 20 == 0 then
    parts[6] = "d4mn"
  end
  local body = string.format('{"room":"lobby","sender":"user%d","text":"%s"}', counter % 500, table.concat(parts, " "))
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
end
