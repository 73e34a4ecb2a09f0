#!/usr/bin/env bash
# make hostile: slowloris clients, clients that never read, and a flood of connects reset at
# once, against one ./tcpproxy, while a well-behaved client measures its round trips (see
# hostile.c). Runs in a network namespace of its own (loopback only).
#
# usage: hostile.sh TCPPROXY HOSTILE_DRIVER OUTDIR
set -uo pipefail
[ $# -eq 3 ] || { echo "usage: hostile.sh TCPPROXY HOSTILE_DRIVER OUTDIR" >&2; exit 2; }
TCPPROXY=$1 DRIVER=$2 OUT=$3
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/netns.sh"
mkdir -p "$OUT" || exit 2
LOG=$OUT/proxy.log CHECKS=$OUT/checks DRIVER_OUT=$OUT/driver.out
STALL=3 BUFFER=8192
: > "$CHECKS"
start=$SECONDS

rel_ns NS hostile || { echo "hostile: cannot create a namespace" >&2; exit 1; }
# Small socket buffers (per namespace): the never-readers' stall clock starts only once the path to
# each of them is full, and with the default autotuned buffers (~10 MB a client) 200 of them took
# longer than the phase's 11 s to fill on CPUs shared with other work.
ip netns exec "$NS" sysctl -qw net.ipv4.ip_local_port_range="1024 65000" net.ipv4.tcp_tw_reuse=1 \
  net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=4096 \
  net.ipv4.tcp_rmem="4096 65536 262144" net.ipv4.tcp_wmem="4096 16384 262144"

idle_args=() driver_idle=()
if rel_has_option "$TCPPROXY" --idle-timeout; then
  idle_args=(--idle-timeout 20) driver_idle=(--idle-timeout 20)
  echo "hostile: the proxy has --idle-timeout: it must close the slowloris pairs (20 s)"
else
  echo "hostile: this build has no --idle-timeout: the test closes the slowloris clients itself"
fi
ip netns exec "$NS" "$TCPPROXY" 127.0.0.1 5000 4000 --bind 127.0.0.1 --stall-timeout "$STALL" \
  --buffer-size "$BUFFER" "${idle_args[@]}" 2> "$LOG" &
proxy=$!
rel_track "$proxy"
rel_wait_listening "$proxy" 4000 15 || { echo "hostile: the proxy did not start listening" >&2; cat "$LOG" >&2; exit 1; }

ip netns exec "$NS" "$DRIVER" --proxy 127.0.0.1:4000 --server 127.0.0.1:5000 --pid "$proxy" \
  --stall "$STALL" --buffer "$BUFFER" "${driver_idle[@]}" ${HOSTILE_ARGS:-} | tee "$DRIVER_OUT"
rc=${PIPESTATUS[0]}
[ "$rc" -le 1 ] || echo "hostile driver: FAILED (exit $rc: it broke, see above)" | tee -a "$CHECKS"
if grep -q FAILED "$DRIVER_OUT" "$CHECKS"; then echo "--- the proxy's log (last 20 lines):"; tail -20 "$LOG"; fi
echo "hostile: $((SECONDS - start)) s"
rel_total "$DRIVER_OUT" "$CHECKS"
