#!/usr/bin/env bash
# Installs the named Debian packages that are not installed yet.
# Daemons that a package would start on install (nginx, haproxy) are kept
# from starting: tests start their own copies and never leave one running.
# Two test runs on one machine (two clones) take turns: the second waits for
# the first's install, then finds the packages there, instead of failing on apt's lock.
set -euo pipefail
find_missing() {
  missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
}
find_missing "$@"
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-packages: missing ${missing[*]} and not root; install them first" >&2
  exit 1
fi
exec 9>/var/lock/tcpproxy-ensure-packages.lock
if ! flock -w 600 9; then
  echo "ensure-packages: another install held /var/lock/tcpproxy-ensure-packages.lock for 10 min" >&2
  exit 1
fi
find_missing "$@"
[ ${#missing[@]} -eq 0 ] && exit 0
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && made_policy=1
fi
trap '[ $made_policy -eq 1 ] && rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
# Others (unattended upgrades) may hold dpkg's lock: wait for it rather than fail.
apt-get -o DPkg::Lock::Timeout=300 update -qq >/dev/null
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "ensure-packages: installed ${missing[*]}"
