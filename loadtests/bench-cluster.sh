#!/usr/bin/env bash
# make bench-cluster (issue 15): throughput and latency of one gateway vs three behind HAProxy sharing one Redis, and
# the latency one Redis round trip per message adds. Everything on loopback: redis-server, the demo chat backend,
# the gateways (`gateway serve`), HAProxy, wrk. On a 2-core machine three instances share the same two cores as one:
# the 1-vs-3 ratio shows the overhead (extra hop, processes, Redis), not a speed-up.
# Tunables: BENCH_SECONDS (per run, default 5), BENCH_CONNECTIONS (default 32).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${BENCH_SECONDS:-5}
conns=${BENCH_CONNECTIONS:-32}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 200); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "not up: $1" >&2; return 1; }

dotnet build src/Gateway/Gateway.csproj -c Release --nologo -v quiet
dotnet build src/Gateway.DemoChat/Gateway.DemoChat.csproj -c Release --nologo -v quiet
gw=(dotnet src/Gateway/bin/Release/net10.0/gateway.dll)

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --loglevel warning >/dev/null & pids+=($!)
backend_port=$(free_port)
dotnet src/Gateway.DemoChat/bin/Release/net10.0/demochat.dll "http://127.0.0.1:$backend_port" >/dev/null & pids+=($!)
head -c 48 /dev/urandom | base64 > "$work/cluster-secret"

config() { # $1 = file, $2 = port, $3 = [cluster] table or ""
  cat > "$1" <<TOML
[server]
listen = ["http://127.0.0.1:$2"]
watch_config = false

[[backends]]
name = "demo"
protocol = "json"
upstreams = ["http://127.0.0.1:$backend_port"]
  [[backends.routes]]
  path = "/api/messages"
  methods = ["POST"]
    [backends.routes.json]
    body = "/text"
    sender = "/sender"
    room = "/room"
  [[backends.routes]]
  path = "/"
  inspect = false

[[filters]]
name = "profanity"
keywords = ["damn", "crap*"]

# Counts every message (never fires at this rate per sender): one counter batch per message.
[[protections]]
name = "flood"
kind = "flood"
max = 10000
window = "1m"
$3
TOML
}

cluster_table() { printf '\n[cluster]\nredis = "redis://127.0.0.1:%s"\ninstance = "%s"\nsecret_file = "%s"\nbudget_ms = 50\n' "$redis_port" "$1" "$work/cluster-secret"; }

single_port=$(free_port); config "$work/single.toml" "$single_port" ""
ports=()
for i in 1 2 3; do
  p=$(free_port); ports+=("$p")
  config "$work/gw$i.toml" "$p" "$(cluster_table "gw$i")"
done
"${gw[@]}" serve --config "$work/single.toml" >/dev/null 2>&1 & pids+=($!)
for i in 1 2 3; do "${gw[@]}" serve --config "$work/gw$i.toml" >/dev/null 2>&1 & pids+=($!); done

haproxy_cfg() { # $1 = file, $2 = port, rest = backend ports
  local file=$1 port=$2; shift 2
  { printf 'global\n  maxconn 4000\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 30s\n  timeout server 30s\n'
    printf 'frontend f\n  bind 127.0.0.1:%s\n  default_backend b\nbackend b\n  balance url_param room\n  hash-type consistent\n' "$port"
    local n=0; for p in "$@"; do n=$((n+1)); printf '  server g%s 127.0.0.1:%s\n' "$n" "$p"; done; } > "$file"
}
lb3=$(free_port); haproxy_cfg "$work/h3.cfg" "$lb3" "${ports[@]}"
lb1=$(free_port); haproxy_cfg "$work/h1.cfg" "$lb1" "${ports[0]}"
haproxy -db -f "$work/h3.cfg" >/dev/null 2>&1 & pids+=($!)
haproxy -db -f "$work/h1.cfg" >/dev/null 2>&1 & pids+=($!)

wait_http "http://127.0.0.1:$single_port/_gateway/health"
for p in "${ports[@]}"; do wait_http "http://127.0.0.1:$p/_gateway/health"; done
wait_http "http://127.0.0.1:$lb3/_gateway/health"
wait_http "http://127.0.0.1:$lb1/_gateway/health"

run() { # $1 = label, $2 = url, $3 = connections (default $conns)
  local out c=${3:-$conns} t=2
  [ "$c" -lt 2 ] && t=1
  wrk -t$t -c"$c" -d2s -s loadtests/wrk/cluster-send.lua "$2" >/dev/null 2>&1 || true   # warm-up
  out=$(wrk -t$t -c"$c" -d"${seconds}s" --latency -s loadtests/wrk/cluster-send.lua "$2")
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  printf '%-52s %10s req/s   p50 %8s   p99 %8s\n' "$1" "$rps" "$p50" "$p99"
}

echo "== make bench-cluster: ${seconds} s per run, $(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "-- one connection (latency: what one Redis round trip per message adds)"
run "1 instance, in-process counters (direct)" "http://127.0.0.1:$single_port" 1
run "1 instance, Redis counters (direct)" "http://127.0.0.1:${ports[0]}" 1
echo "-- ${conns} connections (throughput)"
run "1 instance, in-process counters (direct)" "http://127.0.0.1:$single_port"
run "1 instance, Redis counters (direct)" "http://127.0.0.1:${ports[0]}"
run "HAProxy -> 1 instance, Redis counters" "http://127.0.0.1:$lb1"
run "HAProxy -> 3 instances, Redis counters" "http://127.0.0.1:$lb3"
echo "One connection, row 2 vs row 1: the latency one Redis round trip per message adds. Under load, row 4 vs row 3:"
echo "3 instances vs 1 behind the same HAProxy. On $(nproc) cores the instances share the same cores, so that ratio shows"
echo "the overhead of more processes, not a speed-up."
