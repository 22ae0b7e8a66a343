-- wrk script for make bench-cluster: demo-chat messages spread over 64 rooms (?room= is HAProxy's conversation key)
-- and 500 senders, so a flood protection counts every message in Redis.
local counter = 0

request = function()
  counter = counter + 1
  local room = counter % 64
  local body = string.format('{"room":"room%d","sender":"user%d","text":"hello from the load test number %d"}', room, counter % 500, counter)
  return wrk.format("POST", "/api/messages?room=room" .. room, { ["Content-Type"] = "application/json" }, body)
end
