#!/usr/bin/env bash
# make loadtest: the Artillery scenarios of this folder against a real gateway process in front of the rig's backend
# (loadtests/Soak serve). Installs Artillery with npm here when missing. Writes report/<scenario>.json and .html;
# exits 1 when a scenario's `ensure` fails or the backend saw a filtered term uncensored.
set -uo pipefail
cd "$(dirname "$0")"
here=$(pwd)
repo=$(cd ../.. && pwd)
if [ ! -x node_modules/.bin/artillery ]; then
  echo "loadtest: installing artillery (npm)"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error >/dev/null || { echo "loadtest: npm install failed" >&2; exit 1; }
fi
for p in src/Gateway/Gateway.csproj loadtests/Soak/Soak.csproj; do
  dotnet build "$repo/$p" -c Release --nologo -v quiet >/dev/null || { echo "loadtest: build of $p failed" >&2; exit 1; }
done

mkdir -p report
rm -f report/ports.json
# The rig runs until its stdin closes: a FIFO held open by this script.
fifo=$(mktemp -u) && mkfifo "$fifo"
dotnet "$repo/loadtests/Soak/bin/Release/net10.0/Soak.dll" serve --gateway "$repo/src/Gateway/bin/Release/net10.0/gateway.dll" \
  --ports "$here/report/ports.json" <"$fifo" >report/rig.log 2>&1 &
rig=$!
exec 3>"$fifo"
rm -f "$fifo"
for _ in $(seq 1 150); do [ -s report/ports.json ] && break; sleep 0.2; done
[ -s report/ports.json ] || { echo "loadtest: the rig did not start" >&2; cat report/rig.log >&2; kill "$rig"; exit 1; }
GATEWAY_URL=$(node -e 'console.log(require(process.argv[1]).gateway)' "$here/report/ports.json")
export GATEWAY_URL GATEWAY_WS_URL="${GATEWAY_URL/http:/ws:}/json/ws" GATEWAY_WS_BASE="${GATEWAY_URL/http:/ws:}" PORTS_FILE="$here/report/ports.json"

status=0
for scenario in ${LOADTEST_SCENARIOS:-json-http json-ws matrix-cs matrix-federation barertc-ws barertc-poll lemmy lemmy-inbox sogs}; do
  echo "── $scenario"
  ./node_modules/.bin/artillery run --quiet --output "report/$scenario.json" "$scenario.yml" | tail -40 || status=1
  node report.js "report/$scenario.json" "report/$scenario.html" \
    || echo "loadtest: no HTML report for $scenario"
done

exec 3>&-
wait "$rig"
echo "── rig"
tail -1 report/rig.log
leaks=$(tail -1 report/rig.log | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s).upstream_leaks)}catch{console.log(-1)}})')
if [ "$leaks" != "0" ]; then echo "loadtest: the upstreams saw $leaks texts with a filtered term (or the rig failed)"; status=1; fi
exit $status
