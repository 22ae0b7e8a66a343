#!/usr/bin/env bash
# make bench: engine micro-benchmarks (BenchmarkDotNet) beside the baselines, then HTTP load with wrk beside bare
# YARP and nginx, then one table on stdout and loadtests/results/latest.json. Raw output: loadtests/results/raw/
# (git-ignored). Needs wrk, nginx and libvectorscan5 (the Makefile's bench target installs them).
# Tunables (environment): BENCH_SECONDS (per HTTP round, default 5), BENCH_ROUNDS (3), BENCH_CONNECTIONS (64),
# BENCH_PIN (none | split), BENCH_WS_CONNECTIONS (200), BENCH_FILTER (a BenchmarkDotNet glob, e.g. '*Stages*', for a partial engine run).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
raw=loadtests/results/raw
rm -rf "$raw"
mkdir -p "$raw"

echo "== build (Release)"
for project in src/Gateway/Gateway.csproj loadtests/Gateway.Benchmarks/Gateway.Benchmarks.csproj \
               loadtests/BareYarp/BareYarp.csproj loadtests/Backend/Backend.csproj; do
  dotnet build "$project" -c Release --nologo -v quiet
done
bench=(dotnet loadtests/Gateway.Benchmarks/bin/Release/net10.0/Gateway.Benchmarks.dll)

# The micro-benchmarks run on CPU 1 only, so the OS and anything else on the machine keep to CPU 0. Hot methods
# are promoted to optimised code at once instead of after the startup delay (all cases share one process).
echo "== engine micro-benchmarks (BenchmarkDotNet, pinned to CPU 1)"
DOTNET_TC_CallCountingDelayMs=0 taskset -c 1 "${bench[@]}" engine --raw "$raw" --filter "${BENCH_FILTER:-}"

echo "== HTTP load (wrk on loopback)"
"${bench[@]}" http --raw "$raw" --repo . --seconds "${BENCH_SECONDS:-5}" --rounds "${BENCH_ROUNDS:-3}" \
  --connections "${BENCH_CONNECTIONS:-64}" --warmup 4 --pin "${BENCH_PIN:-none}"

echo "== WebSocket relay load (200 connections, direct vs relay vs YARP tunnel)"
"${bench[@]}" ws --raw "$raw" --repo . --connections "${BENCH_WS_CONNECTIONS:-200}" --seconds "${BENCH_SECONDS:-5}" \
  --rounds "${BENCH_ROUNDS:-3}"

echo "== results"
"${bench[@]}" report --raw "$raw" --out loadtests/results/latest.json --wall-seconds "$(( $(date +%s) - start ))"
