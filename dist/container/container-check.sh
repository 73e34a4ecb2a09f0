#!/usr/bin/env bash
# Builds the FROM-scratch image around the static binary and runs it with
# podman: its configuration (non-root USER, STOPSIGNAL SIGTERM, a drain below
# podman's 10 s stop timeout), --version, and a forward on loopback that
# SIGTERM ends with exit 0. Where podman cannot run, one line says why and
# the step passes without counting anything. Needs root.
# usage: container-check.sh STATIC-BINARY
set -uo pipefail
binary=$1
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
image=localhost/tcpproxy:check-$$

skip() { echo "container-check: skipped: $*"; exit 0; }

. "$top/dist/check-lib.sh"

"$top/scripts/ensure-packages.sh" podman >/dev/null 2>&1 || skip "podman could not be installed from the Debian packages"
info=$(podman info 2>&1) || skip "podman info fails here: $(printf '%s' "$info" | tail -1)"

# This machine's quirks, handled without touching it:
# - crun refuses a hybrid cgroup hierarchy whose v2 half has controllers: podman runs
#   in a mount namespace of its own, where that half is unmounted;
# - the runtime may not raise limits (no CAP_SYS_RESOURCE), and podman lowers its own
#   RLIMIT_NPROC to 32768: the container gets exactly the limits it can set.
in_namespace=(unshare -m -n sh -c 'ip link set lo up
  if grep -qs . /sys/fs/cgroup/unified/cgroup.controllers; then umount /sys/fs/cgroup/unified || exit 1; fi
  exec "$@"' _)
nproc=$(ulimit -Hu)
[ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ] && nproc=32768
limits="--ulimit nofile=$(ulimit -Hn):$(ulimit -Hn) --ulimit nproc=$nproc:$nproc"
run="podman run --rm --network host $limits"

out=$("$here/build-image.sh" "$binary" "$image" 2>&1) || skip "podman build fails here: $(printf '%s' "$out" | tail -1)"
# A run the check had to kill may leave its container behind: it has a name to remove it by.
trap 'podman rm -f --ignore "tcpproxy-check-$$" >/dev/null 2>&1; podman rmi -f "$image" >/dev/null 2>&1' EXIT
out=$("${in_namespace[@]}" $run "$image" --version 2>&1) || skip "podman run fails here: $(printf '%s' "$out" | tail -1)"

check "the image runs the binary: --version" grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+' <<<"$out"
config=$(podman image inspect "$image" --format '{{.Config.User}}|{{.Config.StopSignal}}|{{join .Config.Entrypoint " "}}')
check "the image runs as nobody (65534), stops with SIGTERM" grep -q '^65534:65534|SIGTERM|' <<<"$config"
drain=$(sed -n 's/.*--drain-timeout \([0-9.]*\).*/\1/p' <<<"$config")
check "its --drain-timeout ($drain s) ends before podman's 10 s stop timeout" \
  python3 -c 'import sys; sys.exit(0 if 0 < float(sys.argv[1]) < 10 else 1)' "${drain:-0}"
check "the image holds the binary alone" bash -c \
  'id=$(podman create "$1") && podman export "$id" | tar -t | grep -v -x -e tcpproxy -e "dev/" -e "etc/" -e "proc/" -e "sys/" -e "run/" -e "dev/.*" -e "etc/.*" -e "run/.*"; rc=$?; podman rm "$id" >/dev/null; [ $rc -eq 1 ]' _ "$image"
check "a forward through the container; SIGTERM ends it with exit 0" "${in_namespace[@]}" python3 -B "$top/dist/forward-check.py" \
  --run "$run --name tcpproxy-check-$$ -e NOTIFY_SOCKET={notify} $image" "container forward" - -q

echo "container-check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
