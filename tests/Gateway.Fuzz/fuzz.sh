#!/usr/bin/env bash
# make fuzz: every SharpFuzz target under AFL++ for FUZZ_SECONDS each (default 120), one after another.
# FUZZ_TARGETS="json onion" limits the run. Crashes and hangs land in tests/Gateway.Fuzz/findings/<target>/ (not kept
# in git); each one found is turned into a regression test in tests/Gateway.Tests/Fuzz and its input added to the corpus.
set -uo pipefail
cd "$(dirname "$0")"
here=$(pwd)
seconds=${FUZZ_SECONDS:-120}
build="$here/.build"
tools="$here/.tools"

need=
command -v afl-fuzz >/dev/null 2>&1 || need="afl++"
if [ -n "$need" ]; then
  echo "fuzz: installing $need"
  . ../lib/apt.sh && apt_get update -qq && apt_get install -y -qq $need || { echo "fuzz: cannot install $need" >&2; exit 1; }
fi
if [ ! -x "$tools/sharpfuzz" ]; then
  dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$tools" >/dev/null || exit 1
fi

# A fresh output each time: SharpFuzz instruments the assemblies in place and refuses to do it twice.
rm -rf "$build"
dotnet build Gateway.Fuzz.csproj -c Release --nologo -v quiet -o "$build" || exit 1
# An uninstrumented copy lists the targets and replays crashes outside AFL (instrumented code needs AFL's memory).
rm -rf "$build-plain" && cp -r "$build" "$build-plain"
for dll in Gateway.Policy.dll Gateway.Protocols.dll gateway.dll Tomlyn.dll; do
  "$tools/sharpfuzz" "$build/$dll" >/dev/null || { echo "fuzz: cannot instrument $dll" >&2; exit 1; }
done

targets=${FUZZ_TARGETS:-$(dotnet "$build-plain/Gateway.Fuzz.dll" --list)}
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
export DOTNET_TieredPGO=0 DOTNET_gcServer=0
mkdir -p "$here/findings"  # not kept in git: a fresh clone has none
status=0
printf '%-16s %8s %10s %8s %6s %6s\n' target seconds execs paths crashes hangs
for t in $targets; do
  out="$here/findings/$t"
  rm -rf "$out"
  afl-fuzz -i "corpus/$t" -o "$out" -t 5000 -m none -V "$seconds" -- dotnet "$build/Gateway.Fuzz.dll" "$t" >"$here/findings/$t.log" 2>&1 \
    || { echo "fuzz: afl-fuzz failed for $t (see findings/$t.log)"; status=1; continue; }
  stats="$out/default/fuzzer_stats"
  execs=$(awk -F' *: *' '$1=="execs_done"{print $2}' "$stats")
  paths=$(awk -F' *: *' '$1=="corpus_count"||$1=="paths_total"{print $2}' "$stats" | head -1)
  crashes=$(find "$out/default/crashes" -type f -name 'id:*' | wc -l)
  hangs=$(find "$out/default/hangs" -type f -name 'id:*' | wc -l)
  printf '%-16s %8s %10s %8s %6s %6s\n' "$t" "$seconds" "$execs" "$paths" "$crashes" "$hangs"
  if [ "$crashes" -gt 0 ]; then
    status=1
    dotnet "$build-plain/Gateway.Fuzz.dll" "$t" --replay "$out/default/crashes" 2>&1 | grep -v '^ *at ' | head -20
  fi
done
exit $status
