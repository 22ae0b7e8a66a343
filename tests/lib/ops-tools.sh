#!/usr/bin/env bash
# Installs the Debian tools the operations tests run for real, only when missing:
#   - prometheus: scrapes the admin listener's /metrics and evaluates the shipped Grafana dashboard's queries
#   - gdb (gcore): the "DM buffers admins cannot read" test tries to dump the gateway's memory with it
# Safe to run on every test run; a fresh CI machine starts with none of it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=apt.sh
. "$here/apt.sh"
need=()
[ -x /usr/bin/prometheus ] || need+=(prometheus)
command -v gcore >/dev/null 2>&1 || need+=(gdb)
if [ "${#need[@]}" -gt 0 ]; then
  echo "ops-tools.sh: installing ${need[*]}" >&2
  apt_get update -qq
  apt_get install -y -qq --no-install-recommends "${need[@]}"
fi
# Debian starts the packaged prometheus service on install: the tests run their own, on their own ports.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
  apt_as_root systemctl stop prometheus || true
fi
