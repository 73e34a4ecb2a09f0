#!/usr/bin/env bash
# Checks the shipped units with systemd-analyze verify, as an instance
# (tcpproxy@8080), with ExecStart pointing at the binary just built. verify
# exits 0 on mere warnings (an unknown key, a bad value), so any output fails.
# Usage: verify-units.sh BINARY
set -uo pipefail
binary=$1
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
passed=0 failed=0

check() { # name file...: verify is silent and succeeds
  local name=$1; shift
  local out
  out=$(systemd-analyze verify --man=no "$@" 2>&1)
  if [ $? -eq 0 ] && [ -z "$out" ]; then
    echo "$name: passed"; passed=$((passed + 1))
  else
    echo "$name: FAILED"; printf '%s\n' "$out" | sed 's/^/    /'; failed=$((failed + 1))
  fi
}

sed "s|/usr/local/bin/tcpproxy|$binary|" "$here/tcpproxy@.service" > "$dir/tcpproxy@8080.service"
cp "$here/tcpproxy@.socket" "$dir/tcpproxy@8080.socket"
check "tcpproxy@.service and tcpproxy@.socket verify cleanly" "$dir/tcpproxy@8080.service" "$dir/tcpproxy@8080.socket"

# The check itself must be able to fail: a key systemd does not know is reported.
sed 's/^Restart=on-failure$/Restart=on-failure\nRestartPolicy=sometimes/' "$dir/tcpproxy@8080.service" > "$dir/broken@8080.service"
if [ -n "$(systemd-analyze verify --man=no "$dir/broken@8080.service" 2>&1)" ]; then
  echo "an unknown key is reported: passed"; passed=$((passed + 1))
else
  echo "an unknown key is reported: FAILED (verify said nothing)"; failed=$((failed + 1))
fi

# TimeoutStopSec must leave the drain its time: above the default --drain-timeout.
stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)$/\1/p' "$here/tcpproxy@.service")
drain=$("$binary" --help | sed -n 's/.*--drain-timeout.*default: \([0-9]*\).*/\1/p' | head -1)
if [ -n "$stop" ] && [ -n "$drain" ] && [ "$stop" -gt "$drain" ]; then
  echo "TimeoutStopSec ($stop s) is above --drain-timeout ($drain s): passed"; passed=$((passed + 1))
else
  echo "TimeoutStopSec (${stop:-none}) is above --drain-timeout (${drain:-unknown}): FAILED"; failed=$((failed + 1))
fi

echo "systemd-units: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
