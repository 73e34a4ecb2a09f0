#!/usr/bin/env bash
# make soak: one ./tcpproxy through rounds of connection churn for SECONDS (see soak.c),
# inside a network namespace of its own (loopback only), so the churn's thousands of ports
# and TIME_WAITs stay away from everything else on the machine. Draws RSS over time.
#
# usage: soak.sh TCPPROXY SOAK_DRIVER SECONDS OUTDIR     (OUTDIR gets samples.tsv, rss.png, proxy.log)
set -uo pipefail
[ $# -eq 4 ] || { echo "usage: soak.sh TCPPROXY SOAK_DRIVER SECONDS OUTDIR" >&2; exit 2; }
TCPPROXY=$1 DRIVER=$2 DURATION=$3 OUT=$4
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/netns.sh"
mkdir -p "$OUT" || exit 2
LOG=$OUT/proxy.log CHECKS=$OUT/checks DRIVER_OUT=$OUT/driver.out
: > "$CHECKS"
start=$SECONDS

rel_ns NS soak || { echo "soak: cannot create a namespace" >&2; exit 1; }
# Per-namespace settings: the whole port range, and TIME_WAIT ports reused for new connects.
ip netns exec "$NS" sysctl -qw net.ipv4.ip_local_port_range="1024 65000" net.ipv4.tcp_tw_reuse=1 \
  net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=4096

metrics_args=() driver_metrics=()
if rel_has_option "$TCPPROXY" --metrics; then
  metrics_args=(--metrics 127.0.0.1:9464) driver_metrics=(--metrics 127.0.0.1:9464)
  echo "soak: the proxy serves metrics: active pairs sampled from tcpproxy_connections_active"
else
  echo "soak: this build has no --metrics: active pairs not sampled (RSS and fds from /proc)"
fi
ip netns exec "$NS" "$TCPPROXY" 127.0.0.1 5000 4000 --bind 127.0.0.1 --stall-timeout 5 "${metrics_args[@]}" 2> "$LOG" &
proxy=$!
rel_track "$proxy"
rel_wait_listening "$proxy" 4000 15 || { echo "soak: the proxy did not start listening" >&2; cat "$LOG" >&2; exit 1; }

ip netns exec "$NS" "$DRIVER" --proxy 127.0.0.1:4000 --server 127.0.0.1:5000 --pid "$proxy" \
  --seconds "$DURATION" --out "$OUT" "${driver_metrics[@]}" ${SOAK_ARGS:-} | tee "$DRIVER_OUT"
rc=${PIPESTATUS[0]}
[ "$rc" -le 1 ] || echo "soak driver: FAILED (exit $rc: it broke, see above)" | tee -a "$CHECKS"

if [ -s "$OUT/samples.tsv" ] && command -v gnuplot >/dev/null; then
  gnuplot <<EOF 2>&1 | sed 's/^/    gnuplot: /'
set terminal pngcairo size 900,500
set output "$OUT/rss.png"
set title "tcpproxy soak: RSS over time"
set xlabel "seconds"
set ylabel "RSS (MiB)"
set key bottom right
set grid
plot "$OUT/samples.tsv" using 2:(\$3/1024) with linespoints title "after each round (pairs closed)", \
     "$OUT/samples.tsv" using 2:(\$6/1024) with linespoints title "with the idle pairs open"
EOF
  [ -s "$OUT/rss.png" ] && echo "    # RSS over time: $OUT/rss.png"
fi
echo "soak: $((SECONDS - start)) s"
rel_total "$DRIVER_OUT" "$CHECKS"
