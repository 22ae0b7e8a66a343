#!/usr/bin/env bash
# Installs what the browser test needs when it is missing: Debian's chromium (and node/npm), then playwright-core
# from package-lock.json. CI machines start with nothing installed; a developer's machine usually has it all.
set -euo pipefail
cd "$(dirname "$0")"

# shellcheck source=../lib/apt.sh
. ../lib/apt.sh

missing=()
command -v "${CHROMIUM_PATH:-/usr/bin/chromium}" >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "browser test: installing ${missing[*]} (apt-get)"
  apt_get update -qq
  apt_get install -y -qq "${missing[@]}"
fi

# npm ci again only when the lock file changed since the last install.
stamp=node_modules/.package-lock.json
if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt "$stamp" ]; then
  echo "browser test: npm ci (playwright-core)"
  npm ci --no-audit --no-fund --loglevel=error
fi
