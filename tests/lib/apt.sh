#!/usr/bin/env bash
# Sourced by the install scripts: apt-get that waits for another apt/dpkg process instead of failing at once.
# dpkg's frontend lock is waited for by apt itself (DPkg::Lock::Timeout); `apt-get update` takes the lists lock,
# which that option does not cover on every apt version, so a lock failure is retried for up to APT_LOCK_WAIT seconds.
APT_LOCK_WAIT=${APT_LOCK_WAIT:-600}
APT_RETRY_SECONDS=${APT_RETRY_SECONDS:-5}

apt_as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# apt_get ARGS... : runs apt-get non-interactively as root, waiting out locks held by other processes.
apt_get() {
  local waited=0 out rc
  while true; do
    out=$(apt_as_root env DEBIAN_FRONTEND=noninteractive apt-get -o "DPkg::Lock::Timeout=$APT_LOCK_WAIT" "$@" 2>&1)
    rc=$?
    if [ "$rc" -eq 0 ]; then
      return 0
    fi
    if grep -qiE 'could not get lock|unable to acquire the dpkg|unable to lock|is another process using it' <<<"$out" \
      && [ "$waited" -lt "$APT_LOCK_WAIT" ]; then
      echo "apt-get: another apt process holds the lock; waiting (${waited}s of ${APT_LOCK_WAIT}s)" >&2
      sleep "$APT_RETRY_SECONDS"
      waited=$((waited + (APT_RETRY_SECONDS > 0 ? APT_RETRY_SECONDS : 1)))
      continue
    fi
    printf '%s\n' "$out" >&2
    return "$rc"
  done
}
