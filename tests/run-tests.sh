#!/usr/bin/env bash
# Builds and runs every test project, then prints one summary line "N passed, N failed" from the TRX results.
set -uo pipefail
cd "$(dirname "$0")/.."
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
# Client harnesses (matrix-nio, matrix-js-sdk, lemmy-js-client): installed when missing; if that fails their tests fail.
bash tests/clients/install.sh || echo "tests/clients/install.sh failed: the Matrix and Lemmy client tests will fail" >&2
bash tests/lib/ops-tools.sh || echo "tests/lib/ops-tools.sh failed: the Prometheus and memory-privacy tests will fail" >&2
# Matching corpora (fortunes, wamerican): installed when missing; if that fails the corpus tests fail.
bash tests/corpus/install.sh || echo "tests/corpus/install.sh failed: the matching corpus tests will fail" >&2
dotnet build Gateway.sln -c Release --nologo -v quiet || { echo "0 passed, 1 failed (build failed)"; exit 1; }
status=0
for proj in tests/*/*.Tests.csproj; do
  name=$(basename "$proj" .csproj)
  dotnet test "$proj" -c Release --no-build --nologo \
    --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=normal" \
    --results-directory "$results" -- RunConfiguration.TestSessionTimeout=900000 || status=1
done
passed=0; failed=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  p=$(grep -o '<Counters [^>]*' "$trx" | grep -o ' passed="[0-9]*"' | grep -o '[0-9]*')
  f=$(grep -o '<Counters [^>]*' "$trx" | grep -o ' failed="[0-9]*"' | grep -o '[0-9]*')
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
# Repeat each failed test's name and the head of its message last, so the tail of a long log names what failed.
if [ "$failed" -gt 0 ]; then
  for trx in "$results"/*.trx; do
    [ -f "$trx" ] || continue
    python3 - "$trx" <<'PY' 2>/dev/null || grep -o 'testName="[^"]*"[^>]*outcome="Failed"' "$trx" | sed 's/^/FAILED: /'
import sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
for r in ET.parse(sys.argv[1]).getroot().iterfind(".//t:UnitTestResult", ns):
    if r.get("outcome") != "Failed":
        continue
    msg = r.findtext(".//t:Message", "", ns).strip().replace("\n", " | ")[:600]
    trace = (r.findtext(".//t:StackTrace", "", ns) or "").strip().splitlines()[:4]
    print("FAILED:", r.get("testName"))
    print("  ", msg)
    for line in trace:
        print("  ", line.strip())
PY
  done
fi
echo "$passed passed, $failed failed"
exit $status
