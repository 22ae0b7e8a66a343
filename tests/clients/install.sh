#!/usr/bin/env bash
# Installs what the client harnesses in tests/clients (Matrix, Lemmy) need, only when it is missing, quietly:
#   - Debian's python3-matrix-nio for the system interpreter /usr/bin/python3 (nio_client.py)
#   - Node.js (Debian's, only if there is no node at all) and matrix-js-sdk from jssdk/package-lock.json (npm ci)
#   - lemmy-js-client from lemmyjs/package-lock.json (npm ci), for the Lemmy tests
# Safe to run on every test run; a fresh CI machine starts with none of it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

# shellcheck source=../lib/apt.sh
. "$here/../lib/apt.sh"

apt_updated=0
apt_install() {
  if [ "$apt_updated" -eq 0 ]; then
    apt_get update -qq
    apt_updated=1
  fi
  apt_get install -y -qq "$@"
}

# Run from / so a nio/ or http.py in the current directory cannot shadow the installed package.
if ! (cd / && /usr/bin/python3 -c 'import nio' >/dev/null 2>&1); then
  echo "install.sh: installing python3-matrix-nio" >&2
  apt_install python3-matrix-nio
fi

# Debian's python3-signedjson (what Synapse verifies signatures with), for policy_verify.py (Matrix policy server).
if ! (cd / && /usr/bin/python3 -c 'import signedjson.sign, canonicaljson' >/dev/null 2>&1); then
  echo "install.sh: installing python3-signedjson" >&2
  apt_install python3-signedjson python3-canonicaljson
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "install.sh: installing nodejs and npm" >&2
  apt_install nodejs npm
fi

wanted=$(node -e 'console.log(require(process.argv[1]).packages["node_modules/matrix-js-sdk"].version)' "$here/jssdk/package-lock.json")
have=$(node -e 'try { console.log(require(process.argv[1]).version) } catch { console.log("") }' \
  "$here/jssdk/node_modules/matrix-js-sdk/package.json")
if [ "$wanted" != "$have" ]; then
  echo "install.sh: npm ci in tests/clients/jssdk (matrix-js-sdk $wanted)" >&2
  (cd "$here/jssdk" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

wanted=$(node -e 'console.log(require(process.argv[1]).packages["node_modules/lemmy-js-client"].version)' "$here/lemmyjs/package-lock.json")
have=$(node -e 'try { console.log(require(process.argv[1]).version) } catch { console.log("") }' \
  "$here/lemmyjs/node_modules/lemmy-js-client/package.json")
if [ "$wanted" != "$have" ]; then
  echo "install.sh: npm ci in tests/clients/lemmyjs (lemmy-js-client $wanted)" >&2
  (cd "$here/lemmyjs" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
