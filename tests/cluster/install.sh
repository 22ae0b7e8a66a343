#!/usr/bin/env bash
# Installs what the scale-out test needs when it is missing: Debian's redis-server (and redis-cli) and haproxy.
# CI machines start with nothing installed; the test fails (never skips) when these are absent.
set -euo pipefail
cd "$(dirname "$0")"

# shellcheck source=../lib/apt.sh
. ../lib/apt.sh

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "scale-out test: installing ${missing[*]} (apt-get)"
  apt_get update -qq
  apt_get install -y -qq --no-install-recommends "${missing[@]}"
fi
