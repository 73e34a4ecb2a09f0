#!/usr/bin/env bash
# The static binary (make static) alone in an empty root: a directory holding
# only it and a /proc mount point. /proc is the kernel's, not a library: the
# proxy reads /proc/self/task to know its signals reach the signalfd.
# Checks: no ELF interpreter and no needed library; --version; a forward on
# loopback (network and mount namespaces of its own); a destination name
# from the root's /etc/hosts; the same with no /proc at all. Needs root.
# usage: static-check.sh STATIC-BINARY
set -uo pipefail
binary=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(mktemp -d "${TMPDIR:-/tmp}/tcpproxy-empty-root.XXXXXX")
trap 'rm -rf "$root"' EXIT

. "$here/check-lib.sh"

install -m 0755 "$binary" "$root/tcpproxy"
mkdir "$root/proc"
check "no ELF interpreter, no needed library" bash -c \
  '! readelf -lW "$1" | grep -q "Requesting program interpreter" && ! readelf -dW "$1" | grep -q "(NEEDED)"' _ "$binary"
check "the root holds the binary and an empty /proc, nothing else" \
  diff <(printf '%s\n' . ./proc ./tcpproxy) <(cd "$root" && find . | sort)
check "--version in the empty root" bash -c 'chroot "$1" /tcpproxy --version | grep -Eq "^[0-9]+\.[0-9]+\.[0-9]+"' _ "$root"
check "a forward on loopback from the empty root" unshare -n -m sh -c \
  'ip link set lo up && mount -t proc proc "$1/proc" && python3 -B "$2" --root "$1" "static forward" /tcpproxy -q' \
  _ "$root" "$here/forward-check.py"
mkdir "$root/etc" && echo "127.0.0.1 backend.test" > "$root/etc/hosts"
check "a destination name from the root's /etc/hosts" unshare -n -m sh -c \
  'ip link set lo up && mount -t proc proc "$1/proc" && python3 -B "$2" --root "$1" --host backend.test "static forward by name" /tcpproxy -q' \
  _ "$root" "$here/forward-check.py"
# Without /proc the signalfd cannot be checked: the handlers take over, and SIGTERM must still end the drain.
check "no /proc mounted: forwards, and SIGTERM still stops it" unshare -n -m sh -c \
  'ip link set lo up && python3 -B "$2" --root "$1" --host backend.test "static forward without /proc" /tcpproxy -q' \
  _ "$root" "$here/forward-check.py"

echo "static-check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
