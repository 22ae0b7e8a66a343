#!/usr/bin/env bash
# Installs what the browser test needs when it is missing: Debian's chromium (and node/npm), then playwright-core
# from package-lock.json. CI machines start with nothing installed; a developer's machine usually has it all.
set -euo pipefail
cd "$(dirname "$0")"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
command -v "${CHROMIUM_PATH:-/usr/bin/chromium}" >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "browser test: installing ${missing[*]} (apt-get)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# npm ci again only when the lock file changed since the last install.
stamp=node_modules/.package-lock.json
if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt "$stamp" ]; then
  echo "browser test: npm ci (playwright-core)"
  npm ci --no-audit --no-fund --loglevel=error
fi
