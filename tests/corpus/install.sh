#!/usr/bin/env bash
# Installs the precision corpora the matching tests read (issue 18) when missing: Debian's fortunes (ordinary English
# text) and wamerican (/usr/share/dict/words, the Scunthorpe set). If this fails the corpus tests fail (they never skip).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../lib/apt.sh
. "$here/../lib/apt.sh"
need=
[ -f /usr/share/games/fortunes/fortunes ] || need="$need fortunes fortunes-min"
[ -f /usr/share/dict/american-english ] || need="$need wamerican"
if [ -n "$need" ]; then
  echo "tests/corpus/install.sh: installing$need"
  apt_get update -qq && apt_get install -y -qq --no-install-recommends $need
fi
